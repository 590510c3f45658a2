package io.tally.system;

import io.tally.devstack.DevTokens;
import io.tally.devstack.Ports;
import io.tally.devstack.StackConfig;
import io.tally.testinfra.ServiceJar;
import io.tally.testinfra.TestStack;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Tally's services as processes on the test infrastructure, and a client that only speaks to the gateway. */
final class Fleet implements AutoCloseable {

    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    static final Path ROOT = Path.of(System.getProperty("tally.root", ".."));
    static final Path LOGS = Path.of("target", "fleet-logs");

    final StackConfig stack = TestStack.infrastructure();
    final Map<String, Integer> ports = new HashMap<>();
    final Map<String, ServiceJar> running = new HashMap<>();
    private final Map<String, String> gatewayEnv;
    private Map<String, String> subscriptionEnv = Map.of();
    private Map<String, String> aggregationEnv = Map.of();

    Fleet(Map<String, String> gatewayEnv) {
        this.gatewayEnv = gatewayEnv;
        for (String service : List.of("ingestion", "rules", "aggregation", "aggregation-2", "aggregation-3", "query", "subscription",
            "subscription-2", "gateway", "gateway-2")) {
            // Free now, and distinct: two services given one port would leave one of them unstarted while the other
            // answers its readiness checks.
            int port;
            do {
                port = Ports.findFreeRange(1, false);
            } while (ports.containsValue(port));
            ports.put(service, port);
        }
    }

    private Map<String, String> commonEnv = Map.of();

    /** Settings every service of this fleet gets (a service's own settings win). */
    Fleet withEnv(Map<String, String> env) {
        this.commonEnv = env;
        return this;
    }

    Fleet withSubscriptionEnv(Map<String, String> env) {
        this.subscriptionEnv = env;
        return this;
    }

    Fleet withAggregationEnv(Map<String, String> env) {
        this.aggregationEnv = env;
        return this;
    }

    Fleet start(String... services) throws Exception {
        Files.createDirectories(LOGS);
        List<Thread> starting = new ArrayList<>();
        List<Exception> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (String service : services) {
            starting.add(Thread.ofPlatform().start(() -> {
                try {
                    startOne(service);
                } catch (Exception e) {
                    failures.add(e);
                }
            }));
        }
        for (Thread t : starting) {
            t.join();
        }
        if (!failures.isEmpty()) {
            throw failures.getFirst();
        }
        return this;
    }

    void startOne(String service) throws Exception {
        String module = switch (service) {
            case "gateway", "gateway-2" -> "api-gateway";
            case "subscription-2" -> "subscription-service";
            case "aggregation-2", "aggregation-3" -> "aggregation-service";
            default -> service + "-service";
        };
        String portVariable = switch (service) {
            case "gateway", "gateway-2" -> "TALLY_GATEWAY_PORT";
            case "subscription-2" -> "TALLY_SUBSCRIPTION_PORT";
            case "aggregation-2", "aggregation-3" -> "TALLY_AGGREGATION_PORT";
            default -> "TALLY_" + service.toUpperCase() + "_PORT";
        };
        Map<String, String> env = new HashMap<>(Map.of(
            portVariable, Integer.toString(ports.get(service)),
            "TALLY_KAFKA_BOOTSTRAP", stack.kafkaBootstrap(),
            "TALLY_REDIS_URIS", stack.redisUris(),
            "TALLY_POSTGRES_URL", stack.jdbcUrl(),
            "TALLY_INGESTION_URL", "http://127.0.0.1:" + ports.get("ingestion"),
            "TALLY_RULES_URL", "http://127.0.0.1:" + ports.get("rules"),
            "TALLY_QUERY_URL", "http://127.0.0.1:" + ports.get("query"),
            // Each gateway has its own subscription service, so two instances serve their own sockets.
            "TALLY_SUBSCRIPTION_URL", "http://127.0.0.1:" + ports.get(service.equals("gateway-2") ? "subscription-2" : "subscription")));
        env.putAll(commonEnv);
        if (module.equals("aggregation-service")) {
            // One consumer group per test JVM; every instance its own static member.
            env.put("TALLY_AGGREGATION_GROUP_ID", "system-" + ProcessHandle.current().pid());
            env.put("TALLY_AGGREGATION_INSTANCE_ID", "system-" + ProcessHandle.current().pid() + (service.equals("aggregation") ? "" : "-" + service));
        }
        if (module.equals("api-gateway")) {
            env.putAll(gatewayEnv);
        }
        if (module.equals("subscription-service")) {
            env.putAll(subscriptionEnv);
        }
        if (module.equals("aggregation-service")) {
            env.putAll(aggregationEnv);
        }
        String jar = ROOT.resolve(module).resolve("target").resolve(module + ".jar").toString();
        // The aggregation gets the heap ./tally up gives it: its batches are sized for that.
        running.put(service, ServiceJar.start(jar, ports.get(service), env, LOGS.resolve(service + ".log"), true,
            module.equals("aggregation-service") ? "-Xmx512m" : "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    }

    void kill(String service) throws InterruptedException {
        running.remove(service).kill();
    }

    URI gateway(String path) {
        return URI.create("http://127.0.0.1:" + ports.get("gateway") + path);
    }

    URI gateway2(String path) {
        return URI.create("http://127.0.0.1:" + ports.get("gateway-2") + path);
    }

    URI direct(String service, String path) {
        return URI.create("http://127.0.0.1:" + ports.get(service) + path);
    }

    /** Creates a rule through the gateway and waits until it is active; returns its id. */
    String activeRule(String adminToken, String body) throws Exception {
        HttpResponse<String> created = send("POST", gateway("/api/v1/rules"), adminToken, body);
        if (created.statusCode() != 201) {
            throw new AssertionError("creating a rule answered " + created.statusCode() + ": " + created.body());
        }
        java.util.regex.Matcher id = java.util.regex.Pattern.compile("\"id\":\"([^\"]+)\"").matcher(created.body());
        if (!id.find()) {
            throw new AssertionError("no id in " + created.body());
        }
        String ruleId = id.group(1);
        boolean active = io.tally.devstack.Deadline.in(Duration.ofSeconds(30)).await(() -> {
            try {
                return send("GET", gateway("/api/v1/rules/" + ruleId), adminToken, null).body().contains("\"status\":\"active\"");
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(100));
        if (!active) {
            throw new AssertionError("rule " + ruleId + " never became active");
        }
        return ruleId;
    }

    static String token(String tenant, String... roles) {
        return DevTokens.mint(DevTokens.DEVELOPMENT_SECRET, "system-test", tenant, List.of(roles), Duration.ofHours(1));
    }

    static HttpResponse<String> send(String method, URI uri, String token, String body, String... headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        running.values().forEach(ServiceJar::close);
        running.clear();
    }
}
