package io.tally.system;

import io.tally.devstack.Deadline;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static io.tally.system.Fleet.send;
import static io.tally.system.Fleet.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One tenant against the fleet, as an attacker or a careless producer would be, while another tenant works:
 * a generated corpus of hostile input (random JSON shapes, huge, NaN and overflowing numbers, deep nesting,
 * NUL and control characters, invalid UTF-8, extreme dates and durations, escaped keywords, oversized bodies
 * and frames) to every endpoint through the gateway, to the internal ports and to the subscription socket:
 * no 500 anywhere, no process exits, and the other tenant sees no error. Then a noisy neighbour: a tenant at
 * its ingest limit with a rule of 60 windows per event grouped by a unique attribute, while the other tenant's
 * freshness and query latency are measured with and without it (reported, not asserted: timings on a shared
 * 2-core machine are for the report).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileTenantIT {

    private static final HttpClient HTTP = HttpClient.newHttpClient();
    /** State cells per second one tenant's events may update, in this fleet. */
    private static final long FOLD_RATE = 50_000;
    /**
     * The noisy-neighbour benchmark's tenant and its fold budget ({@code TALLY_NOISY_FOLD_RATE}, cells per second; 20,000
     * by default: about what this 2-core machine applies of its rule's shape besides everything else it runs).
     */
    private static final String NOISY_TENANT = "noisy-neighbour";
    private static final long NOISY_FOLD_RATE = Long.parseLong(System.getenv().getOrDefault("TALLY_NOISY_FOLD_RATE", "20000"));
    /** Events per request of the noisy tenant's flood: 100 x 242 cells fit its fold bucket. */
    private static final int FLOOD_BATCH = 100;
    /** A tenant with a small query budget: 40 tokens, one more a second. */
    private static final String DASHBOARD_TENANT = "dashboard-budget";
    /** A tenant with a small query budget: 60 tokens, two more a second. */
    private static final String READ_TENANT = "read-budget";
    private Fleet fleet;
    private final String hostile = "hostile-" + UUID.randomUUID().toString().substring(0, 6);
    private final String calm = "calm-" + UUID.randomUUID().toString().substring(0, 6);
    private String calmRule;

    @BeforeAll
    void startFleet() throws Exception {
        // A fold budget sized for this 2-core machine (an operator sizes it so the tenants' budgets fit the engine).
        String limits = DASHBOARD_TENANT + "=query:1/40;" + READ_TENANT + "=query:2/60;"
            + NOISY_TENANT + "=fold:" + NOISY_FOLD_RATE + "/" + 2 * NOISY_FOLD_RATE;
        fleet = new Fleet(Map.of("TALLY_SOCKETS_PER_TENANT", "5", "TALLY_FOLD_RATE", Long.toString(FOLD_RATE),
            "TALLY_FOLD_BURST", Long.toString(2 * FOLD_RATE), "TALLY_TENANT_LIMITS", limits)).start("rules", "ingestion", "aggregation", "query", "subscription", "gateway");
        calmRule = fleet.activeRule(token(calm, "admin"), "{\"name\":\"calm\",\"window\":{\"size\":\"PT1H\"},\"allowedLateness\":\"PT1H\","
            + "\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"}]}");
    }

    @AfterAll
    void stopFleet() {
        if (fleet != null) {
            fleet.close();
        }
    }

    /** The hostile corpus, the same every run (seeded). */
    static List<String> corpus(long seed, int size) {
        Random random = new Random(seed);
        List<String> bodies = new ArrayList<>(List.of(
            "", "null", "[]", "{}", "\"text\"", "{\"events\":", "{\"events\":null}", "{\"events\":{}}", "{\"events\":[null]}",
            "{\"events\":[{\"id\":\"\\u0000\",\"category\":\"c\",\"time\":\"2026-01-01T00:00:00Z\"}]}",
            "{\"events\":[{\"id\":\"a\",\"category\":\"c\",\"time\":\"+999999999-12-31T23:59:59Z\"}]}",
            "{\"events\":[{\"id\":\"a\",\"category\":\"c\",\"time\":\"-999999999-01-01T00:00:00Z\"}]}",
            "{\"events\":[{\"id\":\"a\",\"category\":\"c\",\"time\":\"2026-01-01T00:00:00Z\",\"value\":1e999}]}",
            "{\"events\":[{\"id\":\"a\",\"category\":\"c\",\"time\":\"2026-01-01T00:00:00Z\",\"value\":NaN}]}",
            "{\"events\":[{\"id\":\"a\",\"category\":\"c\",\"time\":\"2026-01-01T00:00:00Z\",\"value\":" + "9".repeat(5000) + "}]}",
            "{\"name\":\"\\u0000\",\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"}],\"window\":{\"size\":\"PT1M\"}}",
            "{\"name\":\"x\",\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"}],\"window\":{\"size\":\"PT999999999999H\"}}",
            "{\"name\":\"x\",\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"}],\"window\":{\"size\":\"PT0.000000001S\"}}",
            "{\"name\":\"x\",\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"}],\"window\":{\"size\":\"P1D\",\"slide\":\"PT0S\"}}",
            "{\"\\u006eame\":\"escaped\",\"aggregations\":[{\"name\":\"n\",\"op\":\"\\u0063ount\"}],\"window\":{\"size\":\"PT1M\"}}",
            "{\"name\":\"x\",\"queries\":[" + "{\"ruleId\":\"r\"},".repeat(100) + "{\"ruleId\":\"r\"}]}",
            "[".repeat(10_000) + "]".repeat(10_000),
            "{\"a\":".repeat(5_000) + "1" + "}".repeat(5_000),
            "{\"events\":[" + "{\"id\":\"x\",\"category\":\"c\",\"time\":\"2026-01-01T00:00:00Z\"},".repeat(20_000) + "{}]}"));
        String[] atoms = {"null", "true", "false", "0", "-0", "1e308", "-1e308", "1e-400", "123456789012345678901234567890", "\"\"",
            "\"\\u0000\"", "\"\\ud800\"", "\"\\u001f\"", "\"+999999999-12-31T23:59:59Z\"", "\"P99999999D\"", "\"PT-1S\"", "\"__other__\"",
            "\"\\u0073ubscribe\"", "\"" + "x".repeat(300) + "\"", "[]", "{}"};
        String[] keys = {"events", "id", "category", "time", "value", "geo", "type", "attributes", "name", "filter", "groupBy",
            "aggregations", "op", "field", "k", "window", "size", "slide", "allowedLateness", "retention", "queries", "ruleId", "groups",
            "\\u0000", "deadLetters", "__proto__"};
        while (bodies.size() < size) {
            bodies.add(randomJson(random, atoms, keys, 0));
        }
        return bodies;
    }

    private static String randomJson(Random random, String[] atoms, String[] keys, int depth) {
        int pick = depth > 4 ? 0 : random.nextInt(4);
        return switch (pick) {
            case 1 -> {
                StringBuilder out = new StringBuilder("[");
                for (int i = random.nextInt(4); i > 0; i--) {
                    out.append(randomJson(random, atoms, keys, depth + 1)).append(i > 1 ? "," : "");
                }
                yield out.append(']').toString();
            }
            case 2, 3 -> {
                StringBuilder out = new StringBuilder("{");
                for (int i = random.nextInt(5); i > 0; i--) {
                    out.append('"').append(keys[random.nextInt(keys.length)]).append("\":").append(randomJson(random, atoms, keys, depth + 1))
                        .append(i > 1 ? "," : "");
                }
                yield out.append('}').toString();
            }
            default -> atoms[random.nextInt(atoms.length)];
        };
    }

    /** A request with a raw byte body (invalid UTF-8 included), the answer's status (-1: no answer). */
    private static int raw(String method, URI uri, String token, byte[] body, String... headers) {
        try {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Content-Type", "application/json");
            if (token != null) {
                request.header("Authorization", "Bearer " + token);
            }
            for (int i = 0; i < headers.length; i += 2) {
                request.header(headers[i], headers[i + 1]);
            }
            return HTTP.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    @Order(1)
    void hostileInputGetsNoServerErrorAnywhereAndCostsTheOtherTenantNothing() throws Exception {
        // The calm tenant keeps ingesting and reading the whole time; any error it sees fails the test.
        List<String> calmErrors = new CopyOnWriteArrayList<>();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong calmSent = new AtomicLong();
        Thread calmTraffic = Thread.ofPlatform().start(() -> {
            for (int i = 0; running.get(); i++) {
                try {
                    HttpResponse<String> posted = send("POST", fleet.gateway("/api/v1/events"), token(calm, "producer"),
                        "{\"events\":[{\"id\":\"c" + i + "\",\"category\":\"c\",\"time\":\"" + Instant.now() + "\"}]}");
                    if (posted.statusCode() == 202) {
                        calmSent.incrementAndGet();
                    } else {
                        calmErrors.add("ingest " + posted.statusCode() + " " + posted.body());
                    }
                    HttpResponse<String> read = send("GET", fleet.gateway("/api/v1/rules/" + calmRule + "/results"), token(calm, "viewer"), null);
                    if (read.statusCode() != 200) {
                        calmErrors.add("query " + read.statusCode() + " " + read.body());
                    }
                } catch (Exception e) {
                    calmErrors.add(e.toString());
                }
            }
        });
        Map<String, Integer> statuses = new TreeMap<>();
        List<String> serverErrors = new ArrayList<>();
        String all = token(hostile, "producer", "admin", "viewer");
        String hostileRule = fleet.activeRule(token(hostile, "admin"), "{\"name\":\"h\",\"groupBy\":[\"category\"],"
            + "\"window\":{\"size\":\"PT1S\"},\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"}]}");
        try {
            List<String> bodies = corpus(42, 400);
            List<String[]> targets = List.of(
                new String[] {"POST", "/api/v1/events"}, new String[] {"POST", "/api/v1/rules"}, new String[] {"PUT", "/api/v1/rules/" + hostileRule},
                new String[] {"POST", "/api/v1/dashboards"});
            for (String body : bodies) {
                for (String[] target : targets) {
                    int status = raw(target[0], fleet.gateway(target[1]), all, body.getBytes(StandardCharsets.UTF_8));
                    record(statuses, serverErrors, target[0] + " " + target[1], status, body);
                }
            }
            // Invalid UTF-8 and control bytes.
            byte[] invalid = {'{', '"', 'e', 'v', 'e', 'n', 't', 's', '"', ':', '[', '{', '"', 'i', 'd', '"', ':', '"', (byte) 0xC3, (byte) 0x28, 0, 1, '"', '}', ']', '}'};
            for (String[] target : targets) {
                record(statuses, serverErrors, target[0] + " " + target[1], raw(target[0], fleet.gateway(target[1]), all, invalid), "invalid UTF-8");
            }
            // Hostile query strings: extreme ranges, garbage, escapes.
            String[] queries = {"?from=2000-01-01T00:00:00Z", "?to=+999999999-12-31T23:59:59Z", "?from=-999999999-01-01T00:00:00Z&to=+999999999-12-31T23:59:59Z",
                "?from=nonsense", "?from=%00", "?group.%00=x", "?group.category=%ff%fe", "?from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z",
                "?" + "group.x=1&".repeat(500)};
            for (String query : queries) {
                String path = "/api/v1/rules/" + hostileRule + "/results" + query;
                record(statuses, serverErrors, "GET results", raw("GET", fleet.gateway(path), all, null), query);
                record(statuses, serverErrors, "GET top", raw("GET", fleet.gateway("/api/v1/rules/" + hostileRule + "/top" + query
                    + "&metric=n&k=99999999999&window=%2B999999999-12-31T23:59:59Z"), all, null), query);
            }
            record(statuses, serverErrors, "GET usage", raw("GET", fleet.gateway("/api/v1/usage?x=%00"), all, null), "usage");
            for (String path : List.of("/api/v1/rules/%00", "/api/v1/rules/" + "x".repeat(5000), "/api/v1/rules/../../etc/passwd",
                "/api/v1/dashboards/%ff", "/api/v1/rules/" + hostileRule + "/results/extra")) {
                record(statuses, serverErrors, "GET path", raw("GET", fleet.gateway(path), all, null), path);
            }
            // Straight to the internal ports with a tenant header only, and with garbage signatures.
            for (String service : List.of("ingestion", "rules", "query")) {
                for (String body : bodies.subList(0, 40)) {
                    int status = raw("POST", fleet.direct(service, "/api/v1/events"), null, body.getBytes(StandardCharsets.UTF_8),
                        "X-Tally-Tenant", hostile, "X-Tally-Auth", body.length() > 200 ? body.substring(0, 200) : body);
                    record(statuses, serverErrors, "direct " + service, status, body);
                    assertTrue(status == 401 || status == 400 || status == 404 || status == 405 || status == 413 || status == 415,
                        "an internal port answered " + status + " to an unsigned request");
                }
            }
            // The socket: hostile frames; each gets an error or closes the socket, never a crash.
            try (Socket socket = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), token(hostile, "viewer"), 0)) {
                for (String body : bodies.subList(0, 120)) {
                    if (socket.closed.isDone()) {
                        break;
                    }
                    try {
                        socket.send(body.length() > 60_000 ? body.substring(0, 60_000) : body);
                    } catch (RuntimeException e) {
                        break; // closed by the server for a frame it would not take
                    }
                }
                socket.drain().forEach(m -> {
                    if (m.get("status") instanceof Number n && n.intValue() >= 500 && n.intValue() != 503) {
                        serverErrors.add("socket " + m);
                    }
                });
            }
        } finally {
            running.set(false);
            calmTraffic.join();
        }
        System.out.println("HOSTILE statuses by endpoint: " + statuses);
        assertEquals(List.of(), serverErrors, "server errors for hostile input");
        for (var service : fleet.running.entrySet()) {
            assertTrue(service.getValue().process().isAlive(), service.getKey() + " exited");
            assertTrue(Deadline.in(Duration.ofSeconds(10)).await(service.getValue()::isReady, Duration.ofMillis(200)), service.getKey() + " not ready");
        }
        assertEquals(List.of(), calmErrors, "the other tenant saw errors");
        long sent = calmSent.get();
        assertTrue(Deadline.in(Duration.ofSeconds(60)).await(() -> calmCount() == sent, Duration.ofMillis(250)),
            "the other tenant's events: " + sent + " accepted, " + calmCount() + " counted");
    }

    private static void record(Map<String, Integer> statuses, List<String> serverErrors, String endpoint, int status, String body) {
        statuses.merge(endpoint + " " + status, 1, Integer::sum);
        if (status >= 500 && status != 503 || status == -1) {
            serverErrors.add(endpoint + " answered " + status + " to " + (body.length() > 120 ? body.substring(0, 120) + "…" : body));
        }
    }

    private long calmCount() {
        try {
            HttpResponse<String> r = send("GET", fleet.gateway("/api/v1/rules/" + calmRule + "/results"), token(calm, "viewer"), null);
            return r.statusCode() == 200 ? Traffic.total(r.body()) : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    @Order(3)
    void aTenantHoldsOnlySoManySocketsPerGateway() throws Exception {
        String greedy = "greedy-" + UUID.randomUUID().toString().substring(0, 6);
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 5; i++) {
                held.add(Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), token(greedy, "viewer"), 0));
            }
            var refused = HTTP.newWebSocketBuilder().header("Authorization", "Bearer " + token(greedy, "viewer"))
                .buildAsync(Socket.ws(fleet.gateway("/api/v1/subscriptions")), new java.net.http.WebSocket.Listener() { });
            var failure = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                () -> refused.get(10, java.util.concurrent.TimeUnit.SECONDS));
            assertTrue(failure.getCause() instanceof java.net.http.WebSocketHandshakeException h && h.getResponse().statusCode() == 429,
                "a sixth socket: " + failure.getCause());
            // Another tenant is not affected; a closed socket makes room again.
            Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), token(calm, "viewer"), 0).close();
            held.removeFirst().close();
            assertTrue(Deadline.in(Duration.ofSeconds(10)).await(() -> {
                try {
                    held.add(Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), token(greedy, "viewer"), 0));
                    return true;
                } catch (RuntimeException e) {
                    return false;
                }
            }, Duration.ofMillis(200)), "a closed socket did not make room");
        } finally {
            held.forEach(Socket::close);
        }
    }

    @Test
    @Order(4)
    void whatATenantsRulesMakeEachEventCostIsChargedToItsFoldBudget() throws Exception {
        String heavy = "heavy-" + UUID.randomUUID().toString().substring(0, 6);
        fleet.activeRule(token(heavy, "admin"), "{\"name\":\"sliding\",\"window\":{\"size\":\"PT1H\",\"slide\":\"PT1M\"},"
            + "\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"},{\"name\":\"s\",\"op\":\"sum\",\"field\":\"value\"}]}");
        HttpResponse<String> usage = send("GET", fleet.gateway("/api/v1/usage"), token(heavy, "viewer"), null);
        assertEquals(200, usage.statusCode(), usage.body());
        Map<?, ?> cost = io.micronaut.serde.ObjectMapper.getDefault().readValue(usage.body(), Map.class);
        assertEquals(1, ((Number) cost.get("rules")).intValue(), usage.body());
        assertEquals(60, ((Number) cost.get("windowsPerEvent")).intValue(), usage.body());
        assertEquals(180, ((Number) cost.get("cellsPerEvent")).intValue(), "60 windows x (1 + 2 aggregations): " + usage.body());
        assertEquals(1440, ((Number) ((Map<?, ?>) cost.get("quotas")).get("windowsPerEvent")).intValue(), usage.body());

        // 250 events cost 45,000 cells: the budget (a burst of 100,000, 50,000 a second) takes two such requests in a
        // row once the gateway knows the cost (it asks in the background on the first), not twenty. The events bucket
        // (40,000) alone would take them all.
        String producer = token(heavy, "producer");
        HttpResponse<String> refused = null;
        int accepted = 0;
        for (int batch = 0; batch < 20 && refused == null; batch++) {
            StringBuilder body = new StringBuilder("{\"events\":[");
            for (int i = 0; i < 250; i++) {
                body.append(i > 0 ? "," : "").append("{\"id\":\"h").append(batch).append('-').append(i)
                    .append("\",\"category\":\"c\",\"time\":\"").append(Instant.now()).append("\",\"value\":1}");
            }
            HttpResponse<String> r = send("POST", fleet.gateway("/api/v1/events"), producer, body.append("]}").toString());
            if (r.statusCode() == 202) {
                accepted++;
            } else {
                refused = r;
            }
        }
        assertTrue(refused != null, "twenty requests of 250 events at 180 cells each passed a budget of 100,000 cells");
        assertEquals(429, refused.statusCode(), refused.body());
        assertTrue(refused.body().contains("fold limit") && refused.body().contains("180 state cells"), refused.body());
        assertTrue(refused.headers().firstValue("Content-Type").orElse("").startsWith("application/problem+json"), refused.headers().toString());
        assertTrue(Long.parseLong(refused.headers().firstValue("Retry-After").orElse("0")) >= 1, refused.headers().toString());
        System.out.printf("FOLD budget: %d requests of 250 events passed before the first refusal%n", accepted);
        // One request costing more than the whole bucket is told how many events fit in one.
        StringBuilder huge = new StringBuilder("{\"events\":[");
        for (int i = 0; i < 1000; i++) {
            huge.append(i > 0 ? "," : "").append("{\"id\":\"huge").append(i).append("\",\"category\":\"c\",\"time\":\"").append(Instant.now()).append("\"}");
        }
        HttpResponse<String> tooBig = send("POST", fleet.gateway("/api/v1/events"), producer, huge.append("]}").toString());
        assertEquals(429, tooBig.statusCode(), tooBig.body());
        assertTrue(tooBig.body().contains("Send at most 555 events per request"), tooBig.body());
        // A cheap tenant is not charged by the heavy one's budget.
        assertEquals(202, send("POST", fleet.gateway("/api/v1/events"), token(calm, "producer"),
            "{\"events\":[{\"id\":\"after-heavy\",\"category\":\"c\",\"time\":\"" + Instant.now() + "\"}]}").statusCode());
    }

    @Test
    @Order(5)
    void aDashboardSubscriptionCostsOneQueryTokenPerQueryItReads() throws Exception {
        String admin = token(DASHBOARD_TENANT, "admin", "viewer");
        HttpResponse<String> rule = send("POST", fleet.gateway("/api/v1/rules"), admin,
            "{\"name\":\"d\",\"window\":{\"size\":\"PT1M\"},\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"}]}");
        assertEquals(201, rule.statusCode(), rule.body());
        String ruleId = (String) io.micronaut.serde.ObjectMapper.getDefault().readValue(rule.body(), Map.class).get("id");
        String query = "{\"ruleId\":\"" + ruleId + "\"}";
        HttpResponse<String> dashboard = send("POST", fleet.gateway("/api/v1/dashboards"), admin,
            "{\"name\":\"twelve\",\"queries\":[" + String.join(",", java.util.Collections.nCopies(12, query)) + "]}");
        assertEquals(201, dashboard.statusCode(), dashboard.body());
        String dashboardId = (String) io.micronaut.serde.ObjectMapper.getDefault().readValue(dashboard.body(), Map.class).get("id");
        // About 37 tokens left: three subscriptions of twelve queries fit, the fourth or fifth does not (one rule's would).
        try (Socket socket = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), admin, 0)) {
            for (int i = 0; i < 5; i++) {
                socket.send("{\"op\":\"subscribe\",\"id\":\"d" + i + "\",\"dashboardId\":\"" + dashboardId + "\"}");
            }
            Map<String, Object> refusal = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (refusal == null && System.nanoTime() < deadline) {
                Map<String, Object> message = socket.next(Duration.ofSeconds(30));
                if ("error".equals(message.get("type")) && Integer.valueOf(429).equals(((Number) message.get("status")).intValue())) {
                    refusal = message;
                }
            }
            assertTrue(refusal != null, "five subscriptions of a twelve-query dashboard passed a budget of 40 query tokens");
            assertTrue(String.valueOf(refusal.get("detail")).contains("12 tokens: one per query it reads"), refusal.toString());
        }
    }

    @Test
    @Order(6)
    void aReadPaysForTheValuesItReads() throws Exception {
        String admin = token(READ_TENANT, "admin", "viewer", "producer");
        String rule = fleet.activeRule(admin, "{\"name\":\"wide\",\"groupBy\":[\"category\"],\"window\":{\"size\":\"PT1H\"},"
            + "\"allowedLateness\":\"PT1H\",\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"},{\"name\":\"top\",\"op\":\"max\",\"field\":\"value\"}]}");
        String time = Instant.now().toString();
        for (int batch = 0; batch < 6; batch++) {
            StringBuilder body = new StringBuilder("{\"events\":[");
            for (int i = 0; i < 1000; i++) {
                body.append(i > 0 ? "," : "").append("{\"id\":\"w").append(batch).append('-').append(i).append("\",\"category\":\"c")
                    .append(batch).append('-').append(i).append("\",\"value\":").append(i).append(",\"time\":\"").append(time).append("\"}");
            }
            assertEquals(202, send("POST", fleet.gateway("/api/v1/events"), admin, body.append("]}").toString()).statusCode());
        }
        // 6,000 groups read back are 12,000 stored values (each group's event count, which its count reads, and its
        // maximum): each such read costs 1 + 12 query tokens, charged after it.
        URI results = fleet.gateway("/api/v1/rules/" + rule + "/results");
        assertTrue(Deadline.in(Duration.ofSeconds(90)).await(() -> {
            try {
                HttpResponse<String> r = send("GET", results, admin, null);
                return r.statusCode() == 200 && windowTotal(r.body(), null) == 6000;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofSeconds(2)), "the 6,000 events were not all counted");
        int refused = 0;
        int answered = 0;
        for (int i = 0; i < 6; i++) {
            int status = send("GET", results, admin, null).statusCode();
            refused += status == 429 ? 1 : 0;
            answered += status == 200 ? 1 : 0;
        }
        System.out.printf("READ budget: 6 reads of 6,000 groups in a row: %d answered, %d refused%n", answered, refused);
        assertTrue(refused > 0, "six reads of 12,000 values each (78 tokens) passed a budget of 60 query tokens");
    }

    @Test
    @Order(2)
    void aNoisyNeighbourAtItsLimitsLeavesTheOtherTenantCountingExactly() throws Exception {
        // A benchmark more than a check (minutes of draining on 2 cores): run with TALLY_NOISY_BENCH=true.
        org.junit.jupiter.api.Assumptions.assumeTrue("true".equalsIgnoreCase(System.getenv("TALLY_NOISY_BENCH")),
            "the noisy-neighbour benchmark runs with TALLY_NOISY_BENCH=true");
        Map<String, Object> quiet = measureCalm("without the noisy tenant");
        String noisy = NOISY_TENANT;
        String rule = fleet.activeRule(token(noisy, "admin"), "{\"name\":\"n\",\"groupBy\":[\"attributes.user\"],"
            + "\"window\":{\"size\":\"PT1H\",\"slide\":\"PT1M\"},\"allowedLateness\":\"PT1H\",\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"},"
            + "{\"name\":\"users\",\"op\":\"distinct\",\"field\":\"attributes.user\"},{\"name\":\"top\",\"op\":\"topk\",\"field\":\"attributes.user\",\"k\":5}]}");
        // Its events are counted by a cheap rule too: the noisy rule's own windows hold too many groups to read whole.
        String total = fleet.activeRule(token(noisy, "admin"), "{\"name\":\"total\",\"window\":{\"size\":\"PT1H\"},\"allowedLateness\":\"PT1H\","
            + "\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"}]}");
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong accepted = new AtomicLong();
        AtomicLong refused = new AtomicLong();
        String producer = token(noisy, "producer");
        long floodStart = System.currentTimeMillis();
        Thread flood = Thread.ofPlatform().start(() -> {
            // At most 10 s of flood: enough to measure under it, not so much that draining it takes minutes.
            for (int batch = 0; running.get() && System.currentTimeMillis() - floodStart < 10_000; batch++) {
                StringBuilder body = new StringBuilder("{\"events\":[");
                String time = Instant.now().toString();
                for (int i = 0; i < FLOOD_BATCH; i++) {
                    body.append(i > 0 ? "," : "").append("{\"id\":\"n").append(batch).append('-').append(i)
                        .append("\",\"category\":\"c\",\"time\":\"").append(time).append("\",\"attributes\":{\"user\":\"u")
                        .append(batch).append('-').append(i).append("\"}}");
                }
                try {
                    HttpResponse<String> r = send("POST", fleet.gateway("/api/v1/events"), producer, body.append("]}").toString());
                    if (r.statusCode() == 202) {
                        accepted.addAndGet(FLOOD_BATCH);
                    } else {
                        refused.incrementAndGet();
                    }
                } catch (Exception e) {
                    refused.incrementAndGet();
                }
            }
        });
        Map<String, Object> noisyRun;
        try {
            Thread.sleep(2_000);
            noisyRun = measureCalm("with a tenant at its fold budget, 60 windows per event, a unique group per event");
        } finally {
            running.set(false);
            flood.join();
        }
        assertTrue(fleet.running.get("aggregation").process().isAlive(), "the aggregation service exited under the noisy tenant");
        // A read of the noisy rule's windows (60 windows of thousands of groups each) is refused as too large, quickly,
        // instead of holding a Redis master for seconds.
        String minute = Instant.ofEpochMilli(Math.floorDiv(floodStart, 60_000L) * 60_000L).toString();
        long readStart = System.nanoTime();
        HttpResponse<String> whole = send("GET", fleet.gateway("/api/v1/rules/" + rule + "/results?from=" + minute + "&to="
            + Instant.parse(minute).plusMillis(1)), token(noisy, "viewer"), null);
        long readMillis = (System.nanoTime() - readStart) / 1_000_000;
        assertTrue(whole.statusCode() == 200 || whole.statusCode() == 400, whole.statusCode() + " " + whole.body());
        // The noisy tenant's own counts are exact too: the hour windows of the flood hold every event it had accepted.
        String window = Instant.ofEpochMilli(Math.floorDiv(floodStart, 3_600_000L) * 3_600_000L).toString();
        long expected = accepted.get();
        AtomicLong counted = new AtomicLong();
        boolean exact = Deadline.in(Duration.ofSeconds(180)).await(() -> {
            try {
                HttpResponse<String> r = send("GET", fleet.gateway("/api/v1/rules/" + total + "/results?from=" + window + "&to="
                    + Instant.parse(window).plus(Duration.ofHours(2))), token(noisy, "viewer"), null);
                counted.set(r.statusCode() == 200 ? windowTotal(r.body(), null) : -1);
                return counted.get() == expected;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofSeconds(1));
        System.out.printf("NOISY neighbour (fold budget %d cells/s): %s; %s; noisy tenant: %d events accepted (%d batches refused by its limits), %d counted;"
            + " a read of the noisy rule's 60 windows answered %d in %d ms%n", NOISY_FOLD_RATE, quiet, noisyRun, expected, refused.get(), counted.get(),
            whole.statusCode(), readMillis);
        assertTrue(exact, "the noisy tenant's events: " + expected + " accepted, " + counted.get() + " counted");
    }

    /** The sum of "events" over the groups of the window starting at {@code start} (null: of every window). */
    @SuppressWarnings("unchecked")
    private static long windowTotal(String results, String start) throws Exception {
        Map<String, Object> body = io.micronaut.serde.ObjectMapper.getDefault().readValue(results, Map.class);
        long total = 0;
        for (Map<String, Object> w : (List<Map<String, Object>>) body.get("windows")) {
            if (start == null || start.equals(w.get("start"))) {
                for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                    total += ((Number) ((Map<String, Object>) g.get("values")).get("events")).longValue();
                }
            }
        }
        return total;
    }

    /** The calm tenant's freshness (accepted → visible) and query latency, {@value #PROBES} probes each. */
    private Map<String, Object> measureCalm(String label) throws Exception {
        List<Long> freshness = new ArrayList<>();
        List<Long> queries = new ArrayList<>();
        for (int i = 0; i < PROBES; i++) {
            long before = calmCount();
            long start = System.nanoTime();
            HttpResponse<String> r = send("POST", fleet.gateway("/api/v1/events"), token(calm, "producer"),
                "{\"events\":[{\"id\":\"probe-" + UUID.randomUUID() + "\",\"category\":\"c\",\"time\":\"" + Instant.now() + "\"}]}");
            assertEquals(202, r.statusCode(), r.body());
            assertTrue(Deadline.in(Duration.ofSeconds(120)).await(() -> calmCount() > before, Duration.ofMillis(5)), label + ": a probe was never counted");
            freshness.add((System.nanoTime() - start) / 1_000_000);
            long q = System.nanoTime();
            assertEquals(200, send("GET", fleet.gateway("/api/v1/rules/" + calmRule + "/results"), token(calm, "viewer"), null).statusCode());
            queries.add((System.nanoTime() - q) / 1_000_000);
        }
        freshness.sort(null);
        queries.sort(null);
        return Map.of("case", label, "freshness p50/p90/max ms", percentiles(freshness), "query p50/p90/max ms", percentiles(queries));
    }

    private static final int PROBES = 30;

    private static String percentiles(List<Long> sorted) {
        return sorted.get(sorted.size() / 2) + "/" + sorted.get(sorted.size() * 9 / 10) + "/" + sorted.getLast();
    }
}
