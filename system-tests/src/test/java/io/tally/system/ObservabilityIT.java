package io.tally.system;

import io.micronaut.core.type.Argument;
import io.micronaut.serde.ObjectMapper;
import io.tally.devstack.Deadline;
import io.tally.devstack.Ports;
import io.tally.devstack.StackConfig;
import io.tally.devstack.ZipkinServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.tally.system.Fleet.send;
import static io.tally.system.Fleet.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fleet observed as an operator sees it: tracing to a real Zipkin server (a process, as {@code ./tally up --tracing}
 * runs it) finds one trace per traced event from the gateway through ingestion, the Kafka hop and the aggregation
 * batch to the subscription push; and each service's /prometheus holds the metrics the dashboards and alerts use,
 * with values that follow what happened.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ObservabilityIT {

    private static final ObjectMapper JSON = ObjectMapper.getDefault();
    private final String tenant = "obs-" + UUID.randomUUID().toString().substring(0, 6);
    private ZipkinServer zipkin;
    private Fleet fleet;
    private String ruleId;

    @BeforeAll
    void start() throws Exception {
        StackConfig traces = StackConfig.fromEnvironment(Fleet.ROOT, Map.of(
            "TALLY_STATE_DIR", Path.of("target", "zipkin-state").toAbsolutePath().toString(),
            "TALLY_ZIPKIN_PORT", Integer.toString(Ports.findFreeRange(1, false))));
        zipkin = new ZipkinServer(traces);
        zipkin.start();
        zipkin.awaitReady(Deadline.in(Duration.ofSeconds(90)));
        // Ratio 0: only what a caller samples is traced, so the trace below is the test's own.
        fleet = new Fleet(Map.of()).withEnv(Map.of("TALLY_TRACING_EXPORTER", "zipkin", "TALLY_TRACING_ENDPOINT", zipkin.spansEndpoint(),
                "TALLY_TRACING_SAMPLE_RATIO", "0", "OTEL_BSP_SCHEDULE_DELAY", "200"))
            .start("rules", "ingestion", "aggregation", "query", "subscription", "gateway");
        ruleId = fleet.activeRule(token(tenant, "admin"),
            "{\"name\":\"goals\",\"groupBy\":[\"category\"],\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"}],"
                + "\"window\":{\"size\":\"PT1M\"},\"allowedLateness\":\"PT10S\",\"retention\":\"PT1H\"}");
    }

    @AfterAll
    void stop() {
        if (fleet != null) {
            fleet.close();
        }
        if (zipkin != null) {
            zipkin.stop();
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void oneEventIsOneTraceFromTheGatewayThroughKafkaToTheLivePush() throws Exception {
        String traceId = String.format("%016x%016x", ThreadLocalRandom.current().nextLong(), ThreadLocalRandom.current().nextLong());
        try (Socket socket = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), token(tenant, "viewer"), 0)) {
            socket.send("{\"op\":\"subscribe\",\"id\":\"s\",\"ruleId\":\"" + ruleId + "\"}");
            assertEquals("snapshot", socket.next(Duration.ofSeconds(15)).get("type"));
            HttpResponse<String> accepted = send("POST", fleet.gateway("/api/v1/events"), token(tenant, "producer"),
                "{\"id\":\"traced\",\"category\":\"goal\",\"time\":\"" + Instant.now() + "\"}",
                "traceparent", "00-" + traceId + "-00f067aa0ba902b7-01");
            assertEquals(202, accepted.statusCode(), accepted.body());
            Map<String, Object> update = socket.next(Duration.ofSeconds(15));
            assertEquals("update", update.get("type"), String.valueOf(update));
        }
        Set<String> wanted = Set.of("api-gateway", "ingestion-service", "aggregation-service", "subscription-service");
        List<Map<String, Object>>[] spans = new List[1];
        boolean complete = Deadline.in(Duration.ofSeconds(30)).await(() -> {
            spans[0] = trace(traceId);
            Set<String> services = new HashSet<>();
            spans[0].forEach(s -> services.add(String.valueOf(((Map<String, Object>) s.get("localEndpoint")).get("serviceName"))));
            return services.containsAll(wanted) && names(spans[0]).contains("subscription push");
        }, Duration.ofMillis(250));
        assertTrue(complete, "trace " + traceId + " holds " + (spans[0] == null ? "nothing" : describe(spans[0]))
            + "; Zipkin has spans of " + services());

        Map<String, Map<String, Object>> byName = new HashMap<>();
        spans[0].forEach(s -> byName.putIfAbsent((String) s.get("name"), s));
        Map<String, Object> publish = byName.get("tally.events publish");
        Map<String, Object> process = byName.get("tally.events process");
        Map<String, Object> batch = byName.get("aggregation batch");
        Map<String, Object> push = byName.get("subscription push");
        // The Kafka hop is one trace: the consumer's span is the producer's child, not the root of a second trace.
        assertEquals(publish.get("id"), process.get("parentId"), describe(spans[0]));
        assertEquals(process.get("id"), batch.get("parentId"), describe(spans[0]));
        assertEquals("PRODUCER", publish.get("kind"));
        assertEquals("CONSUMER", process.get("kind"));
        // The push continues the trace from the announcement the aggregation wrote after that batch.
        assertEquals(process.get("id"), push.get("parentId"), describe(spans[0]));
        // The caller's span is the root's parent: its traceparent was followed, not replaced.
        assertTrue(spans[0].stream().anyMatch(s -> "00f067aa0ba902b7".equals(s.get("parentId"))), describe(spans[0]));
        spans[0].forEach(s -> assertEquals(traceId, s.get("traceId")));
    }

    @Test
    void prometheusShowsWhatAnOperatorAlertsOn() throws Exception {
        String producer = token(tenant, "producer");
        Instant now = Instant.now();
        StringBuilder events = new StringBuilder("{\"events\":[");
        for (int i = 0; i < 20; i++) {
            events.append(i == 0 ? "" : ",").append("{\"id\":\"m").append(i).append("\",\"category\":\"c").append(i % 3)
                .append("\",\"time\":\"").append(now).append("\"}");
        }
        // Older than the rule keeps windows: late for every window.
        events.append(",{\"id\":\"old\",\"category\":\"c\",\"time\":\"").append(now.minus(3, ChronoUnit.HOURS)).append("\"}]}");
        try (Socket socket = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), token(tenant, "viewer"), 0)) {
            socket.send("{\"op\":\"subscribe\",\"id\":\"m\",\"ruleId\":\"" + ruleId + "\"}");
            assertEquals("snapshot", socket.next(Duration.ofSeconds(15)).get("type"));
            assertEquals(202, send("POST", fleet.gateway("/api/v1/events"), producer, events.toString()).statusCode());
            assertEquals("update", socket.next(Duration.ofSeconds(15)).get("type"));
            assertMetrics();
        }
    }

    private void assertMetrics() throws Exception {
        String rule = "rule=\"" + ruleId + "\",tenant=\"" + tenant + "\"";
        assertTrue(Deadline.in(Duration.ofSeconds(20)).await(() -> value(scrape("aggregation"), "tally_rule_events_counted_total{" + rule + "}") >= 20
            && value(scrape("aggregation"), "tally_rule_late_events_total{" + rule + "}") >= 1, Duration.ofMillis(200)),
            "counted and late events per rule");
        assertEquals(200, send("GET", fleet.gateway("/api/v1/rules/" + ruleId + "/results"), token(tenant, "viewer"), null).statusCode());

        String aggregation = scrape("aggregation");
        assertEquals(0.0, value(aggregation, "tally_rule_dead_lettered_events_total{" + rule + "}"));
        assertTrue(value(aggregation, "tally_freshness_seconds_count{tenant=\"" + tenant + "\"}") >= 1);
        assertTrue(value(aggregation, "tally_freshness_seconds_bucket{tenant=\"" + tenant + "\",le=\"+Inf\"}") >= 1, "freshness is a histogram");
        double delay = value(aggregation, "tally_watermark_delay_seconds{tenant=\"" + tenant + "\"}");
        assertTrue(delay >= 0 && delay < 600, "watermark delay " + delay);
        assertTrue(value(aggregation, "tally_redis_script_seconds_count{script=\"apply\"}") >= 1);
        assertTrue(value(aggregation, "tally_aggregation_flush_phase_seconds_count{phase=\"apply\"}") >= 1);
        assertTrue(matches(aggregation, "tally_aggregation_consumer_lag\\{partition=\"\\d+\"} "), "consumer lag per partition");
        assertTrue(matches(aggregation, "kafka_producer_record_send_total\\{"), "Kafka client metrics");

        String gateway = scrape("gateway");
        assertTrue(matches(gateway, "http_server_requests_seconds_bucket\\{.*uri=\"/api/\\{\\+path}\",le=\"\\+Inf\"} [1-9]"),
            "request latency histogram: " + gateway.lines().filter(l -> l.startsWith("http_server")).limit(10).toList());
        assertTrue(value(gateway, "tally_gateway_requests_seconds_count{service=\"ingestion\",status=\"202\"}") >= 1);
        assertEquals(1.0, value(gateway, "resilience4j_circuitbreaker_state{name=\"downstream-ingestion\",state=\"closed\"}"));
        assertEquals(1.0, value(gateway, "resilience4j_circuitbreaker_state{name=\"rate-limit-redis\",state=\"closed\"}"));

        String ingestion = scrape("ingestion");
        assertEquals(1.0, value(ingestion, "resilience4j_circuitbreaker_state{name=\"kafka-events\",state=\"closed\"}"));
        assertTrue(value(ingestion, "tally_ingest_events_total") >= 21);
        assertTrue(matches(ingestion, "kafka_producer_request_latency_avg\\{"));

        String query = scrape("query");
        assertEquals(1.0, value(query, "resilience4j_circuitbreaker_state{name=\"redis-reads\",state=\"closed\"}"));
        assertTrue(value(query, "tally_redis_script_seconds_count{script=\"read\"}") >= 1, "the results read was timed");
        assertTrue(matches(scrape("rules"), "kafka_producer_record_send_total\\{"));

        String subscription = scrape("subscription");
        assertTrue(value(subscription, "tally_subscriptions_closed_total{reason=\"slow-reader\"}") >= 0, "slow clients closed, from 0");

        // Every metric the chart's dashboard and alerts read is one the fleet exports.
        String all = String.join("\n", aggregation, gateway, ingestion, subscription, query, scrape("rules"));
        Set<String> used = new java.util.TreeSet<>();
        for (String file : List.of("helm/tally/files/grafana-dashboard.json", "helm/tally/templates/prometheusrule.yaml")) {
            Matcher name = Pattern.compile("\\b((?:tally|resilience4j|kafka|http_server)_[a-z0-9_]+)").matcher(java.nio.file.Files.readString(Fleet.ROOT.resolve(file)));
            while (name.find()) {
                used.add(name.group(1));
            }
        }
        assertTrue(used.size() >= 15, "metrics used: " + used);
        // A histogram's name (in a description) stands for its series.
        List<String> missing = used.stream().filter(n -> !matches(all, Pattern.quote(n) + "(_count)?[{ ]")).toList();
        assertTrue(missing.isEmpty(), "the dashboard or alerts read metrics nobody exports: " + missing);
        assertTrue(value(subscription, "tally_subscriptions_push_latency_seconds_count") >= 1, "a push was timed");
        assertTrue(value(subscription, "tally_subscriptions_sockets") >= 1, "the open socket is counted");
        assertTrue(matches(subscription, "kafka_consumer_fetch_manager_fetch_total\\{"), "Kafka client metrics");
    }

    private String scrape(String service) {
        try {
            HttpResponse<String> metrics = send("GET", fleet.direct(service, "/prometheus"), null, null);
            assertEquals(200, metrics.statusCode(), service);
            return metrics.body();
        } catch (Exception e) {
            throw new AssertionError("scraping " + service + ": " + e, e);
        }
    }

    /** The value of one exact series (name and labels as Prometheus prints them), or -1 when absent. */
    private static double value(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        return -1;
    }

    private static boolean matches(String scrape, String regex) {
        Matcher m = Pattern.compile("(?m)^" + regex).matcher(scrape);
        return m.find();
    }

    /** The spans Zipkin holds of the trace (none while it has not seen it: 404). */
    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> trace(String traceId) {
        try {
            HttpResponse<String> answer = send("GET", URI.create(zipkin.address() + "/api/v2/trace/" + traceId), null, null);
            if (answer.statusCode() == 404) {
                return List.of();
            }
            assertEquals(200, answer.statusCode(), answer.body());
            return JSON.readValue(answer.body(), Argument.listOf(Argument.mapOf(String.class, Object.class)));
        } catch (Exception e) {
            throw new AssertionError("reading trace " + traceId + " from Zipkin: " + e, e);
        }
    }

    private String services() throws Exception {
        return send("GET", URI.create(zipkin.address() + "/api/v2/services"), null, null).body();
    }

    private static Set<String> names(List<Map<String, Object>> spans) {
        Set<String> names = new HashSet<>();
        spans.forEach(s -> names.add((String) s.get("name")));
        return names;
    }

    @SuppressWarnings("unchecked")
    private static String describe(List<Map<String, Object>> spans) {
        StringBuilder out = new StringBuilder();
        for (Map<String, Object> s : spans) {
            out.append("\n  ").append(((Map<String, Object>) s.get("localEndpoint")).get("serviceName")).append(' ').append(s.get("name"))
                .append(" id=").append(s.get("id")).append(" parent=").append(s.get("parentId"));
        }
        return out.toString();
    }
}
