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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import static io.tally.system.Fleet.send;
import static io.tally.system.Fleet.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The counting contract at its edges, through the gateway: duplicates with another category or time are
 * counted once; windows become final without new data (idle timeout), subscribers get the final values, and
 * an event for a final window is late; sums that overflow saturate while counting goes on; after the
 * aggregation is killed mid-stream, the last live update of every window equals the results.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExactnessIT {

    private static final ObjectMapper JSON = ObjectMapper.getDefault();
    private static final long IDLE_MILLIS = 3_000;
    /** A tenant whose windows keep at most 3 groups. */
    private static final String LIMITED = "limited-" + UUID.randomUUID().toString().substring(0, 6);
    private Fleet fleet;

    @BeforeAll
    void startFleet() throws Exception {
        fleet = new Fleet(Map.of()).withAggregationEnv(Map.of("TALLY_IDLE_TIMEOUT", IDLE_MILLIS + "ms",
                "TALLY_TENANT_QUOTAS", LIMITED + "=groups:3"))
            .start("rules", "ingestion", "aggregation", "query", "subscription", "gateway");
    }

    @AfterAll
    void stopFleet() {
        if (fleet != null) {
            fleet.close();
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(HttpResponse<String> response) throws Exception {
        return JSON.readValue(response.body(), Map.class);
    }

    private String activeRule(String admin, String body) throws Exception {
        return fleet.activeRule(admin, body);
    }

    /** Waits until the sum of one aggregation over the rule's results is {@code expected}. */
    private boolean awaitSum(String viewer, String rule, String aggregation, long expected) {
        return Deadline.in(Duration.ofSeconds(60)).await(() -> {
            try {
                return sum(results(viewer, rule, ""), aggregation) == expected;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(200));
    }

    private void post(String producer, String... events) throws Exception {
        HttpResponse<String> r = send("POST", fleet.gateway("/api/v1/events"), producer, "{\"events\":[" + String.join(",", events) + "]}");
        assertEquals(202, r.statusCode(), r.body());
    }

    private static String event(String id, String category, Instant time, double value) {
        return "{\"id\":\"" + id + "\",\"category\":\"" + category + "\",\"time\":\"" + time + "\",\"value\":" + value + "}";
    }

    private Map<String, Object> results(String viewer, String ruleId, String query) throws Exception {
        HttpResponse<String> r = send("GET", fleet.gateway("/api/v1/rules/" + ruleId + "/results" + query), viewer, null);
        assertEquals(200, r.statusCode(), r.body());
        return json(r);
    }

    @SuppressWarnings("unchecked")
    private static long sum(Map<String, Object> results, String aggregation) {
        long total = 0;
        for (Map<String, Object> w : (List<Map<String, Object>>) results.get("windows")) {
            for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                total += ((Number) ((Map<String, Object>) g.get("values")).get(aggregation)).longValue();
            }
        }
        return total;
    }

    @Test
    void anIdIsCountedOnceWhateverCategoryOrTimeItsCopiesCarry() throws Exception {
        String tenant = "dup-" + UUID.randomUUID().toString().substring(0, 6);
        String rule = activeRule(token(tenant, "admin"), "{\"name\":\"d\",\"groupBy\":[\"category\"],\"window\":{\"size\":\"PT1H\"},"
            + "\"allowedLateness\":\"PT10M\",\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"}]}");
        String producer = token(tenant, "producer");
        Instant now = Instant.now();
        post(producer, event("x", "sports", now, 1), event("y", "sports", now, 1));
        // Retries of x with another category, an earlier and a later time, in later requests.
        post(producer, event("x", "movies", now.minusSeconds(30), 1));
        post(producer, event("x", "sports", now.plusSeconds(20), 1), event("z", "movies", now, 1));
        String viewer = token(tenant, "viewer");
        assertTrue(awaitSum(viewer, rule, "events", 3), "x, y, z once each");
        // And stays there.
        post(producer, event("w", "movies", now, 1));
        assertTrue(awaitSum(viewer, rule, "events", 4));
    }

    @Test
    @SuppressWarnings("unchecked")
    void anIdleTenantsWindowsBecomeFinalAreSentToSubscribersAndNeverChangeAgain() throws Exception {
        String tenant = "final-" + UUID.randomUUID().toString().substring(0, 6);
        String rule = activeRule(token(tenant, "admin"), "{\"name\":\"f\",\"window\":{\"size\":\"PT2S\"},\"allowedLateness\":\"PT1S\","
            + "\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"}]}");
        String producer = token(tenant, "producer");
        String viewer = token(tenant, "viewer");
        try (Socket socket = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), viewer, 0)) {
            socket.send("{\"op\":\"subscribe\",\"id\":\"s\",\"ruleId\":\"" + rule + "\"}");
            assertEquals("snapshot", socket.next(Duration.ofSeconds(10)).get("type"));
            Instant time = Instant.now();
            long windowStart = Math.floorDiv(time.toEpochMilli(), 2_000L) * 2_000L;
            String start = Instant.ofEpochMilli(windowStart).toString();
            post(producer, event("a", "c", time, 1), event("b", "c", time, 1));
            long posted = System.currentTimeMillis();
            // No other event follows: only the idle timeout can close the window.
            AtomicReference<Map<String, Object>> finalUpdate = new AtomicReference<>();
            assertTrue(Deadline.in(Duration.ofSeconds(30)).await(() -> {
                for (Map<String, Object> m : socket.drain()) {
                    if ("update".equals(m.get("type"))) {
                        for (Map<String, Object> w : (List<Map<String, Object>>) m.get("windows")) {
                            if (start.equals(w.get("start")) && Boolean.TRUE.equals(w.get("final"))) {
                                finalUpdate.set(w);
                            }
                        }
                    }
                }
                return finalUpdate.get() != null;
            }, Duration.ofMillis(50)), "no update made the window final");
            long tookMillis = System.currentTimeMillis() - posted;
            System.out.printf("EXACTNESS final: window closed and pushed %d ms after its events (its end + lateness + idle timeout came %d ms"
                    + " after them; the finalizer runs once a second)%n",
                tookMillis, windowStart + 2_000 + 1_000 + IDLE_MILLIS - time.toEpochMilli());
            List<Map<String, Object>> groups = (List<Map<String, Object>>) finalUpdate.get().get("groups");
            assertEquals(2, ((Number) ((Map<String, Object>) groups.getFirst().get("values")).get("events")).intValue());

            Map<String, Object> before = results(viewer, rule, "?from=" + start + "&to=" + Instant.ofEpochMilli(windowStart + 2_000));
            Map<String, Object> served = ((List<Map<String, Object>>) before.get("windows")).getFirst();
            assertEquals(true, served.get("final"));
            long lateBefore = ((Number) before.get("lateEvents")).longValue();

            // An event for the final window, on whatever partition it lands: late, never counted into it.
            post(producer, event("c", "c", time, 1));
            assertTrue(Deadline.in(Duration.ofSeconds(20)).await(() -> {
                try {
                    return ((Number) results(viewer, rule, "").get("lateEvents")).longValue() == lateBefore + 1;
                } catch (Exception e) {
                    return false;
                }
            }, Duration.ofMillis(100)), "the event for a final window was not counted as late");
            Map<String, Object> after = results(viewer, rule, "?from=" + start + "&to=" + Instant.ofEpochMilli(windowStart + 2_000));
            assertEquals(served, ((List<Map<String, Object>>) after.get("windows")).getFirst(), "a final window changed");
        }
    }

    @Test
    void aSumThatOverflowsSaturatesAndCountingGoesOnForEveryone() throws Exception {
        String tenant = "poison-" + UUID.randomUUID().toString().substring(0, 6);
        String other = "calm-" + UUID.randomUUID().toString().substring(0, 6);
        String body = "{\"name\":\"p\",\"window\":{\"size\":\"PT1H\"},\"allowedLateness\":\"PT10M\","
            + "\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"},{\"name\":\"total\",\"op\":\"sum\",\"field\":\"value\"},"
            + "{\"name\":\"mean\",\"op\":\"avg\",\"field\":\"value\"}]}";
        String rule = activeRule(token(tenant, "admin"), body);
        String calm = activeRule(token(other, "admin"), body);
        Instant now = Instant.now();
        post(token(tenant, "producer"), event("big1", "c", now, 1e308), event("big2", "c", now, 1e308));
        post(token(tenant, "producer"), event("big3", "c", now, 1.7e308), event("small", "c", now, 1));
        post(token(other, "producer"), event("n1", "c", now, 2), event("n2", "c", now, 3));
        String viewer = token(tenant, "viewer");
        assertTrue(awaitSum(viewer, rule, "events", 4), "counting stopped after an overflowing sum");
        assertTrue(awaitSum(token(other, "viewer"), calm, "total", 5), "another tenant stopped counting");
        HttpResponse<String> raw = send("GET", fleet.gateway("/api/v1/rules/" + rule + "/results"), viewer, null);
        assertTrue(raw.body().contains("\"total\":1.7976931348623157E308"), raw.body());
    }

    @Test
    @SuppressWarnings("unchecked")
    void aBatchThatCannotBeAppliedToARuleIsQuarantinedWhileEveryoneElseKeepsCounting() throws Exception {
        String tenant = "dlq-" + UUID.randomUUID().toString().substring(0, 6);
        String other = "calm-" + UUID.randomUUID().toString().substring(0, 6);
        String admin = token(tenant, "admin");
        // One window for the whole test: the hour now, events at its first second, open for the rest of the test.
        long hour = Math.floorDiv(System.currentTimeMillis(), 3_600_000L) * 3_600_000L;
        Instant time = Instant.ofEpochMilli(hour + 1_000);
        String broken = activeRule(admin, "{\"name\":\"b\",\"groupBy\":[\"category\"],\"window\":{\"size\":\"PT1H\"},"
            + "\"allowedLateness\":\"PT1H\",\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"},"
            + "{\"name\":\"users\",\"op\":\"distinct\",\"field\":\"attributes.user\"}]}");
        String sound = activeRule(admin, "{\"name\":\"s\",\"window\":{\"size\":\"PT1H\"},\"allowedLateness\":\"PT1H\","
            + "\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"}]}");
        String calm = activeRule(token(other, "admin"), "{\"name\":\"c\",\"window\":{\"size\":\"PT1H\"},\"allowedLateness\":\"PT1H\","
            + "\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"}]}");
        String producer = token(tenant, "producer");
        String viewer = token(tenant, "viewer");
        int sent = 0;
        for (int i = 0; i < 20; i++, sent++) {
            post(producer, userEvent("ok" + i, "ok", time, "u" + i));
        }
        assertTrue(awaitSum(viewer, broken, "events", 20));

        // Something else wrote a string where the rule keeps the "broken" category's HyperLogLog: every batch of
        // that category fails on the rule's own data, however often it is tried.
        String hll = io.tally.model.StateKeys.distinct(tenant, broken, 1, hour, "[\"broken\"]", "users");
        var client = io.lettuce.core.cluster.RedisClusterClient.create(java.util.Arrays.stream(fleet.stack.redisUris().split(","))
            .map(io.lettuce.core.RedisURI::create).toList());
        try (var redis = client.connect()) {
            redis.sync().set(hll, "not a hyperloglog");
        } finally {
            client.shutdown();
        }
        for (int i = 0; i < 10; i++, sent++) {
            post(producer, userEvent("bad" + i, "broken", time, "u" + i));
        }
        for (int i = 0; i < 20; i++, sent++) {
            post(producer, userEvent("more" + i, "ok", time, "v" + i));
            post(token(other, "producer"), userEvent("calm" + i, "ok", time, "w" + i));
        }
        // The tenant's other rule and the other tenant count every event, exactly.
        assertTrue(awaitSum(viewer, sound, "events", sent), "a sound rule of the same tenant stopped counting");
        assertTrue(awaitSum(token(other, "viewer"), calm, "events", 20), "another tenant stopped counting");
        // The broken rule: every event either counted or quarantined, never both, never neither.
        int total = sent;
        AtomicReference<String> seen = new AtomicReference<>();
        assertTrue(Deadline.in(Duration.ofSeconds(60)).await(() -> {
            try {
                long counted = sum(results(viewer, broken, ""), "events");
                Map<String, Object> letters = (Map<String, Object>) json(send("GET", fleet.gateway("/api/v1/rules/" + broken), admin, null))
                    .get("deadLetters");
                long quarantined = ((Number) letters.get("count")).longValue();
                seen.set(counted + " counted, dead letters " + letters);
                return quarantined >= 10 && counted + quarantined == total;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(200)), () -> "the broken rule does not add up to " + total + ": " + seen.get());
        System.out.printf("EXACTNESS dead letters: %d events sent to a rule with a broken key, %s; lost 0, double counted 0%n", total, seen.get());
        assertTrue(seen.get().contains("another type"), seen.get());
    }

    @Test
    @SuppressWarnings("unchecked")
    void groupsBeyondTheTenantsQuotaAreCountedInOtherAndTheWindowSaysHowMany() throws Exception {
        String rule = activeRule(token(LIMITED, "admin"), "{\"name\":\"q\",\"groupBy\":[\"category\"],\"window\":{\"size\":\"PT1H\"},"
            + "\"allowedLateness\":\"PT1H\",\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"}]}");
        String producer = token(LIMITED, "producer");
        Instant time = Instant.ofEpochMilli(Math.floorDiv(System.currentTimeMillis(), 3_600_000L) * 3_600_000L + 1_000);
        List<String> categories = List.of("a", "b", "c", "d", "e");
        int sent = 0;
        for (String category : categories) {
            // One request per category, in order: the window's first three categories keep their groups.
            List<String> events = new ArrayList<>();
            for (int i = 0; i < 4; i++, sent++) {
                events.add(event(category + i, category, time, 1));
            }
            post(producer, events.toArray(String[]::new));
            assertTrue(awaitSum(token(LIMITED, "viewer"), rule, "events", sent));
        }
        Map<String, Object> window = ((List<Map<String, Object>>) results(token(LIMITED, "viewer"), rule, "").get("windows")).getFirst();
        Map<Object, Object> byGroup = new java.util.TreeMap<>();
        for (Map<String, Object> g : (List<Map<String, Object>>) window.get("groups")) {
            byGroup.put(((Map<String, Object>) g.get("group")).get("category"), ((Map<String, Object>) g.get("values")).get("events"));
        }
        assertEquals(Map.of("a", 4, "b", 4, "c", 4, "__other__", 8), byGroup);
        assertEquals(2, ((Number) window.get("overflowGroups")).intValue(), window.toString());
        System.out.printf("EXACTNESS quota: 5 categories into a window that keeps 3 groups: %s, overflowGroups %s%n", byGroup, window.get("overflowGroups"));
    }

    private static String userEvent(String id, String category, Instant time, String user) {
        return "{\"id\":\"" + id + "\",\"category\":\"" + category + "\",\"time\":\"" + time + "\",\"attributes\":{\"user\":\"" + user + "\"}}";
    }

    @Test
    @SuppressWarnings("unchecked")
    void afterTheAggregationIsKilledTheLastUpdateOfEveryWindowEqualsTheResults() throws Exception {
        String tenant = "crash-" + UUID.randomUUID().toString().substring(0, 6);
        String rule = activeRule(token(tenant, "admin"), "{\"name\":\"k\",\"groupBy\":[\"category\"],\"window\":{\"size\":\"PT1H\"},"
            + "\"allowedLateness\":\"PT10M\",\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"}]}");
        String producer = token(tenant, "producer");
        String viewer = token(tenant, "viewer");
        try (Socket socket = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), viewer, 0)) {
            socket.send("{\"op\":\"subscribe\",\"id\":\"s\",\"ruleId\":\"" + rule + "\"}");
            Map<String, Object> snapshot = socket.next(Duration.ofSeconds(10));
            assertEquals("snapshot", snapshot.get("type"));
            Map<String, Object> latest = new java.util.TreeMap<>();
            int sent = 0;
            for (int batch = 0; batch < 40; batch++) {
                List<String> events = new ArrayList<>();
                for (int i = 0; i < 25; i++) {
                    events.add(event("e" + batch + "-" + i, "c" + (i % 4), Instant.now(), 1));
                }
                post(producer, events.toArray(String[]::new));
                sent += events.size();
                if (batch == 20) {
                    fleet.kill("aggregation");
                    fleet.startOne("aggregation");
                }
            }
            assertTrue(awaitSum(viewer, rule, "events", sent), "not every event was counted");
            // The live view converges on the results: the last update of each group is what the API shows.
            Map<String, Object> shown = new java.util.TreeMap<>();
            for (Map<String, Object> w : (List<Map<String, Object>>) results(viewer, rule, "").get("windows")) {
                for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                    shown.put(w.get("start") + " " + g.get("group"), ((Map<String, Object>) g.get("values")).get("events"));
                }
            }
            assertTrue(Deadline.in(Duration.ofSeconds(20)).await(() -> {
                for (Map<String, Object> m : socket.drain()) {
                    for (Map<String, Object> w : (List<Map<String, Object>>) m.getOrDefault("windows", List.of())) {
                        for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                            latest.put(w.get("start") + " " + g.get("group"), ((Map<String, Object>) g.get("values")).get("events"));
                        }
                    }
                }
                return latest.equals(shown);
            }, Duration.ofMillis(50)), "live view " + latest + " never equalled the results " + shown);
        }
    }
}
