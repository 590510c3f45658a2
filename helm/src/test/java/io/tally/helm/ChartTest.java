package io.tally.helm;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.tally.model.TopicSpec;
import io.tally.model.Topics;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chart as Helm itself renders it (the Helm library through helm-java: no binary, no cluster), read into the
 * fabric8 Kubernetes model, and checked as an operator would expect it; values the schema must refuse are tried.
 */
class ChartTest {

    private static final Path CHART = Path.of("tally").toAbsolutePath();
    private static final List<String> SERVICES = List.of("gateway", "ingestion", "aggregation", "query", "subscription", "rules");
    private static final Set<String> AUTOSCALED = Set.of("gateway", "ingestion", "query", "subscription");
    /** The Kubernetes version rendered for (the chart needs 1.25 or later). */
    private static final String KUBERNETES = "1.31.0";
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    /** What an operator sets at the least: the secrets. */
    private static TemplateCommand template(UnaryOperator<TemplateCommand> more) {
        return more.apply(new Helm(CHART).template().withName("tally").withNamespace("analytics").withKubeVersion(KUBERNETES)
            .set("auth.jwtSecret", "a-production-secret-of-at-least-32-bytes")
            .set("auth.internalKey", "an-internal-key-of-at-least-32-characters")
            .set("auth.postgresPassword", "postgres-password"));
    }

    private static List<HasMetadata> render(UnaryOperator<TemplateCommand> more) {
        String manifests = template(more).call();
        List<HasMetadata> resources = new ArrayList<>();
        for (String document : manifests.split("(?m)^---\\s*$")) {
            if (document.lines().allMatch(line -> line.isBlank() || line.startsWith("#"))) {
                continue;
            }
            HasMetadata resource = SERIALIZATION.unmarshal(document, HasMetadata.class);
            assertNoUnknownFields(resource, resource.getKind() + " " + resource.getMetadata().getName());
            resources.add(resource);
        }
        return resources;
    }

    private static <T> List<T> of(List<HasMetadata> resources, Class<T> kind) {
        return resources.stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    private static String component(HasMetadata resource) {
        return resource.getMetadata().getLabels().get("app.kubernetes.io/component");
    }

    @Test
    void lintsStrictlyWithAnOperatorsValues() throws IOException {
        // helm lint takes the chart's own values: lint a copy whose values carry the secrets an install must be given.
        Path copy = Files.createTempDirectory("tally-chart").resolve("tally");
        try (Stream<Path> files = Files.walk(CHART)) {
            for (Path file : files.toList()) {
                Path target = copy.resolve(CHART.relativize(file).toString());
                if (Files.isDirectory(file)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(file, target);
                }
            }
        }
        Path values = copy.resolve("values.yaml");
        Files.writeString(values, Files.readString(values)
            .replace("  jwtSecret: \"\"", "  jwtSecret: a-production-secret-of-at-least-32-bytes")
            .replace("  internalKey: \"\"", "  internalKey: an-internal-key-of-at-least-32-characters")
            .replace("  postgresPassword: \"\"", "  postgresPassword: postgres-password"));
        LintResult lint = new Helm(copy).lint().strict().call();
        assertFalse(lint.isFailed(), String.join("\n", lint.getMessages()));
    }

    @Test
    void everyServiceRunsHardenedWithProbesResourcesAndTheStandardLabels() {
        List<HasMetadata> resources = render(t -> t);
        Map<String, PodTemplateSpec> pods = new TreeMap<>();
        of(resources, Deployment.class).forEach(d -> pods.put(component(d), d.getSpec().getTemplate()));
        of(resources, StatefulSet.class).forEach(s -> pods.put(component(s), s.getSpec().getTemplate()));
        assertEquals(Set.copyOf(SERVICES), pods.keySet());
        assertEquals(List.of("aggregation"), of(resources, StatefulSet.class).stream().map(ChartTest::component).toList(),
            "the aggregation keeps its static group membership by pod name");
        for (HasMetadata resource : resources) {
            Map<String, String> labels = resource.getMetadata().getLabels();
            for (String label : List.of("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                "app.kubernetes.io/managed-by", "helm.sh/chart")) {
                assertNotNull(labels.get(label), resource.getKind() + " " + resource.getMetadata().getName() + " lacks " + label);
            }
        }
        pods.forEach((service, template) -> {
            PodSpec pod = template.getSpec();
            assertEquals(Boolean.FALSE, pod.getAutomountServiceAccountToken(), service);
            assertEquals(Boolean.TRUE, pod.getSecurityContext().getRunAsNonRoot(), service);
            assertEquals("RuntimeDefault", pod.getSecurityContext().getSeccompProfile().getType(), service);
            assertEquals(2, pod.getTopologySpreadConstraints().size(), service);
            Container container = pod.getContainers().getFirst();
            assertEquals(Boolean.TRUE, container.getSecurityContext().getReadOnlyRootFilesystem(), service);
            assertEquals(Boolean.FALSE, container.getSecurityContext().getAllowPrivilegeEscalation(), service);
            assertEquals(List.of("ALL"), container.getSecurityContext().getCapabilities().getDrop(), service);
            assertEquals("/health/liveness", container.getLivenessProbe().getHttpGet().getPath(), service);
            assertEquals("/health/readiness", container.getReadinessProbe().getHttpGet().getPath(), service);
            assertEquals("/health/liveness", container.getStartupProbe().getHttpGet().getPath(), service);
            assertNotNull(container.getResources().getRequests().get("memory"), service);
            assertNotNull(container.getResources().getLimits().get("memory"), service);
            assertTrue(container.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/tmp")), service + ": a writable /tmp");
            assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getEmptyDir() != null), service);
            assertTrue(container.getImage().endsWith("tally/tally-" + (service.equals("gateway") ? "api-gateway" : service + "-service") + ":0.1.0-SNAPSHOT"),
                container.getImage());
            Map<String, String> env = container.getEnv().stream().collect(Collectors.toMap(e -> e.getName(), e -> String.valueOf(e.getValue())));
            assertTrue(env.get("JAVA_TOOL_OPTIONS").matches("-Xms(\\w+) -Xmx\\1 -XX:\\+ExitOnOutOfMemoryError .*"), env.get("JAVA_TOOL_OPTIONS"));
            assertTrue(env.containsKey("TALLY_INTERNAL_KEY"), service);
        });
        Container aggregation = pods.get("aggregation").getSpec().getContainers().getFirst();
        assertEquals("-Xms512m -Xmx512m -XX:+ExitOnOutOfMemoryError -Djava.io.tmpdir=/tmp -XX:+UseParallelGC -XX:NewRatio=1 -XX:MetaspaceSize=128m",
            aggregation.getEnv().stream().filter(e -> e.getName().equals("JAVA_TOOL_OPTIONS")).findFirst().orElseThrow().getValue());
        assertEquals("metadata.name", aggregation.getEnv().stream().filter(e -> e.getName().equals("TALLY_AGGREGATION_INSTANCE_ID"))
            .findFirst().orElseThrow().getValueFrom().getFieldRef().getFieldPath());
        assertEquals(6, of(resources, Service.class).size());
        assertEquals(Boolean.FALSE, of(resources, ServiceAccount.class).getFirst().getAutomountServiceAccountToken());
        assertEquals(AUTOSCALED, of(resources, HorizontalPodAutoscaler.class).stream().map(ChartTest::component).collect(Collectors.toSet()));
        assertEquals(Set.copyOf(SERVICES), of(resources, PodDisruptionBudget.class).stream().map(ChartTest::component).collect(Collectors.toSet()));
        // Deployments under an autoscaler leave the replica count to it.
        of(resources, Deployment.class).forEach(d -> assertEquals(AUTOSCALED.contains(component(d)), d.getSpec().getReplicas() == null, component(d)));
        assertEquals(Set.of("jwt-secret", "internal-key", "postgres-user", "postgres-password"), of(resources, Secret.class).getFirst().getStringData().keySet());
        Map<String, String> config = of(resources, ConfigMap.class).getFirst().getData();
        assertEquals("0.0.0.0", config.get("TALLY_BIND_HOST"));
        assertEquals("http://tally-rules:18082", config.get("TALLY_RULES_URL"));
        assertEquals("http://tally-ingestion:18081", config.get("TALLY_INGESTION_URL"));
        assertEquals("8080", config.get("TALLY_GATEWAY_PORT"));
    }

    @Test
    void selectorsPortsAndTargetsPointAtWhatExists() {
        List<HasMetadata> resources = render(t -> t.set("ingress.enabled", true));
        Map<String, PodTemplateSpec> pods = new TreeMap<>();
        Map<String, Map<String, String>> selectors = new TreeMap<>();
        for (Deployment d : of(resources, Deployment.class)) {
            pods.put(d.getKind() + "/" + d.getMetadata().getName(), d.getSpec().getTemplate());
            selectors.put(d.getKind() + "/" + d.getMetadata().getName(), d.getSpec().getSelector().getMatchLabels());
        }
        for (StatefulSet s : of(resources, StatefulSet.class)) {
            pods.put(s.getKind() + "/" + s.getMetadata().getName(), s.getSpec().getTemplate());
            selectors.put(s.getKind() + "/" + s.getMetadata().getName(), s.getSpec().getSelector().getMatchLabels());
            assertTrue(of(resources, Service.class).stream().anyMatch(svc -> svc.getMetadata().getName().equals(s.getSpec().getServiceName())),
                "the StatefulSet's governing Service exists");
        }
        selectors.forEach((workload, selector) -> assertTrue(pods.get(workload).getMetadata().getLabels().entrySet().containsAll(selector.entrySet()),
            workload + ": its selector matches its pods"));
        for (Service service : of(resources, Service.class)) {
            List<PodTemplateSpec> selected = pods.values().stream()
                .filter(p -> p.getMetadata().getLabels().entrySet().containsAll(service.getSpec().getSelector().entrySet())).toList();
            assertEquals(1, selected.size(), service.getMetadata().getName() + " selects the pods of one workload");
            for (var port : service.getSpec().getPorts()) {
                String target = port.getTargetPort().getStrVal();
                assertTrue(selected.getFirst().getSpec().getContainers().getFirst().getPorts().stream().anyMatch(p -> p.getName().equals(target)),
                    service.getMetadata().getName() + ": target port " + target + " is a container port");
            }
        }
        for (HorizontalPodAutoscaler hpa : of(resources, HorizontalPodAutoscaler.class)) {
            String target = hpa.getSpec().getScaleTargetRef().getKind() + "/" + hpa.getSpec().getScaleTargetRef().getName();
            assertTrue(pods.containsKey(target), hpa.getMetadata().getName() + " scales " + target + ", which exists");
        }
        for (PodDisruptionBudget pdb : of(resources, PodDisruptionBudget.class)) {
            assertEquals(1, pods.values().stream().filter(p -> p.getMetadata().getLabels().entrySet()
                .containsAll(pdb.getSpec().getSelector().getMatchLabels().entrySet())).count(), pdb.getMetadata().getName());
        }
        for (NetworkPolicy policy : of(resources, NetworkPolicy.class)) {
            assertEquals(1, pods.values().stream().filter(p -> p.getMetadata().getLabels().entrySet()
                .containsAll(policy.getSpec().getPodSelector().getMatchLabels().entrySet())).count(), policy.getMetadata().getName());
        }
        String backend = of(resources, Ingress.class).getFirst().getSpec().getRules().getFirst().getHttp().getPaths().getFirst().getBackend().getService().getName();
        assertTrue(of(resources, Service.class).stream().anyMatch(svc -> svc.getMetadata().getName().equals(backend)), "the Ingress backend exists");
    }

    @Test
    void theSchemaRefusesAWrongTypeAndAnUnknownTopLevelKey() {
        for (UnaryOperator<TemplateCommand> bad : List.<UnaryOperator<TemplateCommand>>of(
            t -> t.set("services.gateway.port", "http"), t -> t.set("replicaCount", 3), t -> t.set("ingress.enabled", "yes"))) {
            IllegalStateException refused = assertThrows(IllegalStateException.class, () -> template(bad).call());
            assertTrue(refused.getMessage().contains("values don't meet the specifications of the schema"), refused.getMessage());
        }
    }

    @Test
    void onlyTheGatewayTakesTrafficFromOutsideAndOnlyTheServicesReachTheDependencies() {
        List<NetworkPolicy> policies = of(render(t -> t), NetworkPolicy.class);
        assertEquals(Set.copyOf(SERVICES), policies.stream().map(ChartTest::component).collect(Collectors.toSet()));
        for (NetworkPolicy policy : policies) {
            String service = component(policy);
            assertEquals(List.of("Ingress", "Egress"), policy.getSpec().getPolicyTypes(), service);
            if (!service.equals("gateway")) {
                Set<String> callers = policy.getSpec().getIngress().stream().flatMap(rule -> rule.getFrom().stream())
                    .map(peer -> peer.getPodSelector().getMatchLabels().get("app.kubernetes.io/component")).collect(Collectors.toSet());
                assertEquals(service.equals("rules") ? Set.of("gateway", "subscription") : Set.of("gateway"), callers, service);
            }
            Set<Object> egressPorts = policy.getSpec().getEgress().stream().filter(rule -> rule.getTo() == null || rule.getTo().isEmpty())
                .flatMap(rule -> rule.getPorts().stream()).map(p -> p.getPort().getValue()).collect(Collectors.toSet());
            assertEquals(Set.of(53, 9092, 6379, 16379, 5432), egressPorts, service + ": DNS and the dependencies, nothing else");
        }
    }

    @Test
    void theTopicsJobCreatesEveryTopicWithTheLayoutTheServicesNeed() {
        // helm template leaves hooks out of the manifest it returns: the hook's content is read as a plain Job.
        assertTrue(of(render(t -> t), Job.class).isEmpty(), "by default the Job is a hook, not part of the release's manifest");
        Job job = of(render(t -> t.set("kafka.topics.hook", false)), Job.class).getFirst();
        String script = String.join("\n", job.getSpec().getTemplate().getSpec().getContainers().getFirst().getArgs());
        for (TopicSpec topic : Topics.all()) {
            String line = script.lines().filter(l -> l.strip().startsWith("create " + topic.name() + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no topic " + topic.name() + " in\n" + script));
            assertTrue(line.contains(" " + topic.partitions() + " "), line + " should have " + topic.partitions() + " partitions");
            topic.configs().forEach((key, value) -> assertTrue(line.contains("--config " + key + "=" + value), line + " lacks " + key + "=" + value));
        }
        assertTrue(of(render(t -> t.set("kafka.topics.hook", false).set("kafka.topics.create", false)), Job.class).isEmpty());
    }

    @Test
    void optionalPartsAppearWhenAsked() {
        List<HasMetadata> resources = render(t -> t.set("ingress.enabled", true).set("ingress.host", "tally.acme.test")
            .set("serviceMonitor.enabled", true).set("auth.existingSecret", "tally-from-vault"));
        Ingress ingress = of(resources, Ingress.class).getFirst();
        assertEquals("tally.acme.test", ingress.getSpec().getRules().getFirst().getHost());
        assertEquals("tally-gateway", ingress.getSpec().getRules().getFirst().getHttp().getPaths().getFirst().getBackend().getService().getName());
        assertEquals(Set.of("/api", "/", "/console", "/reference", "/openapi.json", "/openapi.yaml"),
            ingress.getSpec().getRules().getFirst().getHttp().getPaths().stream().map(p -> p.getPath()).collect(Collectors.toSet()),
            "the API, the console and the reference reach the gateway");
        assertTrue(ingress.getSpec().getRules().getFirst().getHttp().getPaths().stream()
            .allMatch(p -> p.getBackend().getService().getName().equals("tally-gateway")));
        Ingress apiOnly = of(render(t -> t.set("ingress.enabled", true).set("ingress.console", false)), Ingress.class).getFirst();
        assertEquals(List.of("/api"), apiOnly.getSpec().getRules().getFirst().getHttp().getPaths().stream().map(p -> p.getPath()).toList());
        assertEquals("3600", ingress.getMetadata().getAnnotations().get("nginx.ingress.kubernetes.io/proxy-read-timeout"),
            "WebSocket-friendly timeouts");
        GenericKubernetesResource monitor = of(resources, GenericKubernetesResource.class).stream()
            .filter(r -> r.getKind().equals("ServiceMonitor")).findFirst().orElseThrow();
        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) monitor.getAdditionalProperties().get("spec");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> endpoints = (List<Map<String, Object>>) spec.get("endpoints");
        assertEquals("/prometheus", endpoints.getFirst().get("path"));
        assertTrue(of(resources, Secret.class).isEmpty(), "an existing Secret replaces the chart's");
        assertTrue(of(resources, Deployment.class).stream().allMatch(d -> d.getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv()
            .stream().filter(e -> e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null)
            .allMatch(e -> e.getValueFrom().getSecretKeyRef().getName().equals("tally-from-vault"))));
    }

    @Test
    @SuppressWarnings("unchecked")
    void alertsAndTheDashboardShipWithTheChartWhenAsked() throws IOException {
        List<HasMetadata> resources = render(t -> t.set("prometheusRule.enabled", true).set("grafanaDashboard.enabled", true)
            .set("tracing.exporter", "otlp").set("tracing.endpoint", "http://otel-collector.observability:4318"));
        GenericKubernetesResource rule = of(resources, GenericKubernetesResource.class).stream()
            .filter(r -> r.getKind().equals("PrometheusRule")).findFirst().orElseThrow();
        List<Map<String, Object>> groups = (List<Map<String, Object>>) ((Map<String, Object>) rule.getAdditionalProperties().get("spec")).get("groups");
        Map<String, Map<String, Object>> alerts = new java.util.TreeMap<>();
        groups.forEach(g -> ((List<Map<String, Object>>) g.get("rules")).forEach(r -> alerts.put((String) r.get("alert"), r)));
        assertEquals(Set.of("TallyConsumerLagGrowing", "TallyFreshnessP99High", "TallyCircuitBreakerOpen", "TallyDeadLetters",
            "TallyReadinessFlapping"), alerts.keySet());
        alerts.forEach((name, alert) -> {
            String expr = (String) alert.get("expr");
            assertTrue(expr.contains("namespace=\"analytics\""), name + " is scoped to the release's namespace: " + expr);
            assertTrue(Set.of("warning", "critical").contains(((Map<String, Object>) alert.get("labels")).get("severity")), name);
            Map<String, Object> annotations = (Map<String, Object>) alert.get("annotations");
            assertTrue(annotations.containsKey("summary") && annotations.containsKey("description"), name);
            assertTrue(!expr.contains("{{") && ((String) annotations.get("description")).contains("{{"),
                name + ": the chart rendered its own values and left Prometheus its templates");
        });
        assertTrue(((String) alerts.get("TallyFreshnessP99High").get("expr")).contains("> 0.2"), "the 200 ms target");

        ConfigMap dashboard = of(resources, ConfigMap.class).stream().filter(c -> c.getMetadata().getName().equals("tally-dashboard"))
            .findFirst().orElseThrow();
        assertEquals("1", dashboard.getMetadata().getLabels().get("grafana_dashboard"), "the Grafana sidecar's label");
        Map<String, Object> json = new ObjectMapper().readValue(dashboard.getData().get("tally.json"), Map.class);
        List<Map<String, Object>> panels = (List<Map<String, Object>>) json.get("panels");
        assertTrue(panels.size() >= 15, "panels: " + panels.size());
        for (Map<String, Object> panel : panels) {
            List<Map<String, Object>> targets = (List<Map<String, Object>>) panel.get("targets");
            assertTrue(!targets.isEmpty() && targets.stream().allMatch(t -> ((String) t.get("expr")).contains("namespace=\"$namespace\"")),
                panel.get("title") + " reads the chosen namespace");
        }

        ConfigMap config = of(resources, ConfigMap.class).stream().filter(c -> c.getMetadata().getName().equals("tally-config"))
            .findFirst().orElseThrow();
        assertEquals("otlp", config.getData().get("TALLY_TRACING_EXPORTER"));
        assertEquals("http://otel-collector.observability:4318", config.getData().get("TALLY_TRACING_ENDPOINT"));
        assertEquals("json", config.getData().get("TALLY_LOG_FORMAT"));
        assertTrue(of(resources, NetworkPolicy.class).stream().allMatch(p -> p.getSpec().getEgress().stream()
                .anyMatch(e -> e.getPorts() != null && e.getPorts().stream().anyMatch(port -> Integer.valueOf(4318).equals(port.getPort().getIntVal())))),
            "every service may send spans to the collector");

        ConfigMap off = of(render(t -> t), ConfigMap.class).stream().filter(c -> c.getMetadata().getName().equals("tally-config")).findFirst().orElseThrow();
        assertEquals("none", off.getData().get("TALLY_TRACING_EXPORTER"), "tracing is off by default");
        IllegalStateException nowhere = assertThrows(IllegalStateException.class, () -> template(t -> t.set("tracing.exporter", "zipkin")).call());
        assertTrue(nowhere.getMessage().contains("tracing.endpoint is required"), nowhere.getMessage());
    }

    @Test
    void refusesValuesThatCannotWorkSayingWhich() {
        Map<String, UnaryOperator<TemplateCommand>> bad = Map.of(
            "services.gateway.replicas", t -> t.set("services.gateway.replicas", 0),
            "heap", t -> t.set("services.query.heap", "lots"),
            "servces", t -> t.set("servces.gateway.replicas", 2),
            "jwtSecret", t -> t.set("auth.jwtSecret", "short"),
            "jwksUrl", t -> t.set("auth.jwksUrl", "http://idp.example.com/jwks"),
            "pullPolicy", t -> t.set("image.pullPolicy", "Sometimes"),
            "runAsNonRoot", t -> t.set("podSecurityContext.runAsNonRoot", false),
            "exporter", t -> t.set("tracing.exporter", "jaeger"),
            "sampleRatio", t -> t.set("tracing.sampleRatio", 2),
            "format", t -> t.set("logging.format", "xml"));
        bad.forEach((what, values) -> {
            IllegalStateException refused = assertThrows(IllegalStateException.class, () -> template(values).call(), what);
            assertTrue(refused.getMessage().contains("values don't meet the specifications of the schema"), what + ": " + refused.getMessage());
        });
        IllegalStateException noSecrets = assertThrows(IllegalStateException.class,
            () -> new Helm(CHART).template().withName("tally").withKubeVersion(KUBERNETES).call());
        assertTrue(noSecrets.getMessage().contains("auth.jwtSecret (at least 32 bytes) or auth.jwksUrl is required"), noSecrets.getMessage());
    }

    /** Fails when any object of the model kept fields it does not know (a misspelt key would be dropped by Kubernetes). */
    private static void assertNoUnknownFields(Object root, String where) {
        List<String> unknown = new ArrayList<>();
        walk(root, where, unknown, new IdentityHashMap<>());
        assertTrue(unknown.isEmpty(), "unknown fields: " + unknown);
    }

    private static void walk(Object node, String path, List<String> unknown, Map<Object, Boolean> seen) {
        if (node == null || seen.put(node, true) != null) {
            return;
        }
        if (node instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                walk(item, path + "[" + i++ + "]", unknown, seen);
            }
            return;
        }
        if (node instanceof Map<?, ?> || node instanceof GenericKubernetesResource || !node.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method getter : node.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || !getter.getName().startsWith("get") || getter.getDeclaringClass() == Object.class) {
                continue;
            }
            try {
                Object value = getter.invoke(node);
                if (getter.getName().equals("getAdditionalProperties")) {
                    if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                        unknown.add(path + ": " + extra.keySet());
                    }
                } else {
                    walk(value, path + "." + getter.getName().substring(3), unknown, seen);
                }
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
