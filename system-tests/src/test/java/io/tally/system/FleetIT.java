package io.tally.system;

import io.micronaut.serde.ObjectMapper;
import io.tally.devstack.Deadline;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.tally.system.Fleet.send;
import static io.tally.system.Fleet.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole fleet as processes, driven only through the gateway as API.md describes it: rules become active
 * and count, a changed filter takes effect without restarts, tokens and roles are enforced, two gateways share
 * a tenant's bucket and refused batches are not ingested, a stopped downstream trips its breaker and traffic
 * returns with it, identical concurrent reads are coalesced.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FleetIT {

    private static final ObjectMapper JSON = ObjectMapper.getDefault();
    private static final String LIMITED = "limited-" + UUID.randomUUID().toString().substring(0, 6);
    private Fleet fleet;

    @BeforeAll
    void startFleet() throws Exception {
        fleet = new Fleet(Map.of("TALLY_TENANT_LIMITS", LIMITED + "=ingest:1/100,query:1000/1000", "TALLY_BREAKER_OPEN_FOR", "2s"))
            .start("rules", "ingestion", "aggregation", "query", "subscription", "gateway");
    }

    @AfterAll
    void stopFleet() {
        if (fleet != null) {
            fleet.close();
        }
    }

    @Test
    void internalPortsRefuseEveryRequestTheGatewayDidNotSign() throws Exception {
        String tenant = "direct-" + UUID.randomUUID().toString().substring(0, 6);
        Map<String, String> paths = Map.of("ingestion", "/api/v1/events", "rules", "/api/v1/rules", "query", "/api/v1/rules/x/results");
        for (var target : paths.entrySet()) {
            String method = target.getKey().equals("ingestion") ? "POST" : "GET";
            java.net.URI uri = fleet.direct(target.getKey(), target.getValue());
            String body = method.equals("POST") ? "{\"events\":[]}" : null;
            String signedElsewhere = io.tally.internal.InternalKey.developmentSignature(tenant, List.of("admin"), method, "/api/v1/dashboards");
            String forged = io.tally.internal.InternalToken.sign("not-the-key-but-32-characters-long".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                tenant, List.of("admin"), method, target.getValue(), System.currentTimeMillis());
            String expired = io.tally.internal.InternalToken.sign(io.tally.internal.InternalKey.DEVELOPMENT_KEY.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                tenant, List.of("admin"), method, target.getValue(), System.currentTimeMillis() - 120_000);
            String good = io.tally.internal.InternalKey.developmentSignature(tenant, List.of("admin"), method, target.getValue());
            List<String[]> attempts = List.of(
                new String[] {"X-Tally-Tenant", tenant, "X-Tally-Roles", "admin"},
                new String[] {"X-Tally-Tenant", tenant, "X-Tally-Roles", "admin", "X-Tally-Auth", signedElsewhere},
                new String[] {"X-Tally-Tenant", tenant, "X-Tally-Roles", "admin", "X-Tally-Auth", forged},
                new String[] {"X-Tally-Tenant", tenant, "X-Tally-Roles", "admin", "X-Tally-Auth", expired},
                new String[] {"X-Tally-Tenant", "someone-else", "X-Tally-Roles", "admin", "X-Tally-Auth", good});
            for (String[] headers : attempts) {
                HttpResponse<String> refused = send(method, uri, null, body, headers);
                assertEquals(401, refused.statusCode(), target.getKey() + " " + List.of(headers) + ": " + refused.body());
                assertEquals("application/problem+json", refused.headers().firstValue("Content-Type").orElse(""));
            }
            HttpResponse<String> vouched = send(method, uri, null, body, "X-Tally-Tenant", tenant, "X-Tally-Roles", "admin", "X-Tally-Auth", good);
            assertTrue(vouched.statusCode() != 401, target.getKey() + " refused a request the gateway signed: " + vouched.body());
        }
        // The subscription socket: the upgrade itself is refused.
        var upgrade = java.net.http.HttpClient.newHttpClient().newWebSocketBuilder().header("X-Tally-Tenant", tenant)
            .buildAsync(Socket.ws(fleet.direct("subscription", "/api/v1/subscriptions")), new java.net.http.WebSocket.Listener() { });
        var failure = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
            () -> upgrade.get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(failure.getCause() instanceof java.net.http.WebSocketHandshakeException handshake && handshake.getResponse().statusCode() == 401,
            "the subscription socket opened without the gateway's signature: " + failure.getCause());
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(HttpResponse<String> response) throws Exception {
        return JSON.readValue(response.body(), Map.class);
    }

    private String createActiveRule(String admin, String body) throws Exception {
        HttpResponse<String> created = send("POST", fleet.gateway("/api/v1/rules"), admin, body);
        assertEquals(201, created.statusCode(), created.body());
        String id = (String) json(created).get("id");
        awaitActive(admin, id, 1);
        return id;
    }

    private void awaitActive(String token, String id, int version) throws Exception {
        assertTrue(Deadline.in(Duration.ofSeconds(20)).await(() -> {
            try {
                Map<String, Object> rule = json(send("GET", fleet.gateway("/api/v1/rules/" + id), token, null));
                return "active".equals(rule.get("status")) && ((Number) rule.get("version")).intValue() == version;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(100)), "rule " + id + " v" + version + " never became active");
    }

    private static String event(String id, String category, String geo, Instant time) {
        return "{\"id\":\"" + id + "\",\"category\":\"" + category + "\",\"geo\":\"" + geo + "\",\"time\":\"" + time + "\",\"value\":1}";
    }

    private static String batch(List<String> events) {
        return "{\"events\":[" + String.join(",", events) + "]}";
    }

    /** Sum of the {@code events} aggregation over every window and group of a rule's results. */
    @SuppressWarnings("unchecked")
    private long counted(String token, String ruleId) throws Exception {
        HttpResponse<String> response = send("GET", fleet.gateway("/api/v1/rules/" + ruleId + "/results"), token, null);
        if (response.statusCode() != 200) {
            return -1;
        }
        long total = 0;
        for (Map<String, Object> w : (List<Map<String, Object>>) json(response).get("windows")) {
            for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                total += ((Number) ((Map<String, Object>) g.get("values")).get("events")).longValue();
            }
        }
        return total;
    }

    private boolean awaitCount(String token, String ruleId, long expected) {
        return Deadline.in(Duration.ofSeconds(20)).await(() -> {
            try {
                return counted(token, ruleId) == expected;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(100));
    }

    @Test
    @SuppressWarnings("unchecked")
    void aRuleCreatedThroughTheGatewayCountsEventsOnceAndOnlyForItsTenant() throws Exception {
        String tenant = "sys-" + UUID.randomUUID().toString().substring(0, 6);
        String admin = token(tenant, "admin");
        String producer = token(tenant, "producer");
        String viewer = token(tenant, "viewer");
        String ruleId = createActiveRule(admin, """
            {"name": "By geo", "filter": {"categories": ["sports"]}, "groupBy": ["geo"],
             "aggregations": [{"name": "events", "op": "count"}], "window": {"size": "PT1H"}}""");
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS).minusSeconds(1);
        List<String> events = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            events.add(event("e" + i, i % 4 == 0 ? "music" : "sports", i % 2 == 0 ? "US" : "DE", now));
        }
        events.add(event("e1", "sports", "DE", now)); // a duplicate: counted once
        HttpResponse<String> accepted = send("POST", fleet.gateway("/api/v1/events"), producer, batch(events),
            "X-Tally-Tenant", "someone-else");
        assertEquals(202, accepted.statusCode(), accepted.body());
        assertTrue(accepted.headers().firstValue("RateLimit-Limit").isPresent(), "rate limit headers on every answer");
        assertEquals("{\"accepted\":41}", accepted.body());
        assertTrue(awaitCount(viewer, ruleId, 30), "30 sports events once each; counted " + counted(viewer, ruleId));
        Map<String, Object> results = json(send("GET", fleet.gateway("/api/v1/rules/" + ruleId + "/results?group.geo=DE"), viewer, null));
        List<Map<String, Object>> groups = (List<Map<String, Object>>) ((List<Map<String, Object>>) results.get("windows")).getFirst().get("groups");
        assertEquals(List.of(Map.of("group", Map.of("geo", "DE"), "values", Map.of("events", 20))), groups);

        // The spoofed tenant header was ignored: that tenant has nothing, and cannot see this rule.
        assertEquals(404, send("GET", fleet.gateway("/api/v1/rules/" + ruleId + "/results"), token("someone-else", "viewer"), null).statusCode());
        // Roles per route.
        HttpResponse<String> forbidden = send("GET", fleet.gateway("/api/v1/rules/" + ruleId + "/results"), producer, null);
        assertEquals(403, forbidden.statusCode());
        assertTrue(forbidden.headers().firstValue("RateLimit-Remaining").isPresent(), "rate limit headers on a 403 too");
        assertEquals(403, send("POST", fleet.gateway("/api/v1/events"), viewer, batch(events)).statusCode());
        assertEquals(403, send("DELETE", fleet.gateway("/api/v1/rules/" + ruleId), viewer, null).statusCode());
        HttpResponse<String> anonymous = send("GET", fleet.gateway("/api/v1/rules"), null, null);
        assertEquals(401, anonymous.statusCode());
        assertEquals("application/problem+json", anonymous.headers().firstValue("Content-Type").orElse(""));
        assertTrue(anonymous.headers().firstValue("X-Request-Id").isPresent());
        // Bad input through the gateway: the ingestion service's problem, pointers included.
        HttpResponse<String> bad = send("POST", fleet.gateway("/api/v1/events"), producer, "{\"id\": \"x\", \"time\": \"yesterday\"}");
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("\"pointer\":\"/time\"") && bad.body().contains("\"pointer\":\"/category\""), bad.body());
    }

    @Test
    void aChangedFilterTakesEffectForNewEventsAndADeletedRuleAnswers404() throws Exception {
        String tenant = "chg-" + UUID.randomUUID().toString().substring(0, 6);
        String admin = token(tenant, "admin", "producer", "viewer");
        String rule = """
            {"name": "One category", "filter": {"categories": ["%s"]}, "aggregations": [{"name": "events", "op": "count"}],
             "window": {"size": "PT1H"}}""";
        String ruleId = createActiveRule(admin, rule.formatted("a"));
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS).minusSeconds(1);
        List<String> first = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            first.add(event("first-" + i, i < 6 ? "a" : "b", "US", now));
        }
        assertEquals(202, send("POST", fleet.gateway("/api/v1/events"), admin, batch(first)).statusCode());
        assertTrue(awaitCount(admin, ruleId, 6));

        HttpResponse<String> changed = send("PUT", fleet.gateway("/api/v1/rules/" + ruleId), admin, rule.formatted("b"), "If-Match", "\"1\"");
        assertEquals(200, changed.statusCode(), changed.body());
        awaitActive(admin, ruleId, 2);
        List<String> second = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            second.add(event("second-" + i, i < 3 ? "a" : "b", "US", now));
        }
        assertEquals(202, send("POST", fleet.gateway("/api/v1/events"), admin, batch(second)).statusCode());
        assertTrue(awaitCount(admin, ruleId, 7), "version 2 counts the 7 'b' events sent after it became active; counted "
            + counted(admin, ruleId));
        assertEquals(2, ((Number) json(send("GET", fleet.gateway("/api/v1/rules/" + ruleId + "/results"), admin, null))
            .get("ruleVersion")).intValue());

        assertEquals(204, send("DELETE", fleet.gateway("/api/v1/rules/" + ruleId), admin, null).statusCode());
        assertTrue(Deadline.in(Duration.ofSeconds(10)).await(() -> {
            try {
                return send("GET", fleet.gateway("/api/v1/rules/" + ruleId + "/results"), admin, null).statusCode() == 404;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(100)), "a deleted rule's results answer 404");
    }

    @Test
    void twoGatewaysShareATenantsBucketAndRefusedBatchesAreNotIngested() throws Exception {
        fleet.startOne("gateway-2");
        try {
            String admin = token(LIMITED, "admin", "producer", "viewer");
            String ruleId = createActiveRule(admin, """
                {"name": "All", "aggregations": [{"name": "events", "op": "count"}], "window": {"size": "PT1H"}}""");
            Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS).minusSeconds(1);
            long accepted = 0;
            int refused = 0;
            for (int b = 0; b < 6; b++) {
                List<String> events = new ArrayList<>();
                for (int i = 0; i < 30; i++) {
                    events.add(event("b" + b + "-" + i, "c", "US", now));
                }
                // Alternate gateways: the bucket (rate 1/s, burst 100) is one, shared through Redis.
                HttpResponse<String> response = send("POST", b % 2 == 0 ? fleet.gateway("/api/v1/events") : fleet.gateway2("/api/v1/events"),
                    admin, batch(events));
                if (response.statusCode() == 202) {
                    accepted += 30;
                } else {
                    assertEquals(429, response.statusCode(), response.body());
                    assertTrue(Integer.parseInt(response.headers().firstValue("Retry-After").orElseThrow()) >= 1);
                    assertEquals("application/problem+json", response.headers().firstValue("Content-Type").orElse(""));
                    assertNotNull(response.headers().firstValue("RateLimit-Remaining").orElse(null));
                    refused++;
                }
            }
            assertTrue(refused >= 2, "100 tokens cannot hold 6 × 30 events within seconds; refused " + refused);
            assertTrue(accepted >= 90, "the first three batches fit the shared burst; accepted " + accepted);
            long expected = accepted;
            assertTrue(awaitCount(admin, ruleId, expected), "every accepted event counted and no refused one: expected "
                + expected + ", counted " + counted(admin, ruleId));
        } finally {
            fleet.kill("gateway-2");
        }
    }

    @Test
    void aStoppedDownstreamAnswersFast503sAndTrafficReturnsWithItWithoutRestartingTheGateway() throws Exception {
        String tenant = "brk-" + UUID.randomUUID().toString().substring(0, 6);
        String viewer = token(tenant, "viewer");
        fleet.kill("query");
        try {
            long slowest = 0;
            boolean paused = false;
            for (int i = 0; i < 12; i++) {
                long start = System.nanoTime();
                HttpResponse<String> r = send("GET", fleet.gateway("/api/v1/rules/" + UUID.randomUUID() + "/results"), viewer, null);
                slowest = Math.max(slowest, System.nanoTime() - start);
                assertEquals(503, r.statusCode(), r.body());
                assertTrue(r.headers().firstValue("Retry-After").isPresent());
                paused |= r.body().contains("paused");
            }
            assertTrue(paused, "the breaker opened after repeated failures");
            assertTrue(slowest < Duration.ofSeconds(5).toNanos(), "no request waited for the dead service");
        } finally {
            fleet.startOne("query");
        }
        assertTrue(Deadline.in(Duration.ofSeconds(30)).await(() -> {
            try {
                return send("GET", fleet.gateway("/api/v1/rules/" + UUID.randomUUID() + "/results"), viewer, null).statusCode() == 404;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(250)), "traffic flows again once the query service is back");
    }

    @Test
    void onlyHealthAndMetricsAreExposedBesideTheApi() throws Exception {
        for (String path : List.of("/beans", "/threaddump", "/routes", "/refresh", "/env", "/loggers", "/info")) {
            for (java.net.URI uri : List.of(fleet.gateway(path), fleet.direct("query", path), fleet.direct("aggregation", path))) {
                HttpResponse<String> response = send(path.equals("/refresh") ? "POST" : "GET", uri, null, path.equals("/refresh") ? "{}" : null);
                assertTrue(response.statusCode() == 404 || response.statusCode() == 401, uri + " answered " + response.statusCode());
            }
        }
        assertEquals(200, send("GET", fleet.gateway("/health/liveness"), null, null).statusCode());
        assertEquals(200, send("GET", fleet.gateway("/prometheus"), null, null).statusCode());
    }

    @Test
    void identicalConcurrentReadsShareOneDownstreamCall() throws Exception {
        String tenant = "coa-" + UUID.randomUUID().toString().substring(0, 6);
        String admin = token(tenant, "admin", "viewer");
        String ruleId = createActiveRule(admin, """
            {"name": "All", "aggregations": [{"name": "events", "op": "count"}], "window": {"size": "PT1M"}}""");
        String path = "/api/v1/rules/" + ruleId + "/results";
        double before = downstreamCalls();
        double coalescedBefore = gatewayCoalesced();
        int n = 40;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<Integer>> answers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            answers.add(pool.submit(() -> {
                go.await();
                return send("GET", fleet.gateway(path), admin, null).statusCode();
            }));
        }
        go.countDown();
        for (Future<Integer> f : answers) {
            assertEquals(200, f.get());
        }
        pool.shutdown();
        // Servers record a request's metrics just after answering it: wait for the last ones to land.
        double[] seen = new double[2];
        Deadline.in(Duration.ofSeconds(5)).await(() -> {
            try {
                seen[0] = downstreamCalls() - before;
                seen[1] = gatewayCoalesced() - coalescedBefore;
                return seen[0] + seen[1] >= n;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(50));
        double calls = seen[0];
        double coalesced = seen[1];
        assertEquals(n, calls + coalesced, 0.0, "each request was either sent or shared: calls " + calls + ", coalesced " + coalesced);
        assertTrue(calls < n, "concurrent identical reads were coalesced: " + calls + " downstream calls for " + n + " requests");
    }

    private double downstreamCalls() throws Exception {
        return metric(fleet.direct("query", "/prometheus"), "http_server_requests_seconds_count", "/api/v1/rules/{id}/results");
    }

    private double gatewayCoalesced() throws Exception {
        return metric(fleet.direct("gateway", "/prometheus"), "tally_gateway_coalesced_total", "");
    }

    private static double metric(java.net.URI uri, String name, String containing) throws Exception {
        String body = send("GET", uri, null, null).body();
        double total = 0;
        Matcher m = Pattern.compile("(?m)^" + name + "(\\{.*})? ([0-9.eE+-]+)$").matcher(body);
        while (m.find()) {
            if (m.group(1) == null || m.group(1).contains(containing)) {
                total += Double.parseDouble(m.group(2));
            }
        }
        return total;
    }
}
