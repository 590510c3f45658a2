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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

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
        // Kept in two shards: a window is final once both are closed.
        String rule = activeRule(token(tenant, "admin"), "{\"name\":\"f\",\"window\":{\"size\":\"PT2S\"},\"allowedLateness\":\"PT1S\","
            + "\"shards\":2,\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"}]}");
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
        Map<Object, Object> byGroup = new TreeMap<>();
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
            Map<String, Object> latest = new TreeMap<>();
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
            Map<String, Object> shown = new TreeMap<>();
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

    /** Per group of the one window: events, total, lowest, highest, distinct users. */
    private record Truth(long events, double total, double lowest, double highest, Set<String> users) {
    }

    @Test
    @SuppressWarnings("unchecked")
    void aRuleKeptInShardsCountsExactlyAcrossAKillAndNoLiveValueEverGoesDown() throws Exception {
        String tenant = "shards-" + UUID.randomUUID().toString().substring(0, 6);
        String rule = activeRule(token(tenant, "admin"), "{\"name\":\"s\",\"groupBy\":[\"category\"],\"window\":{\"size\":\"PT1H\"},"
            + "\"allowedLateness\":\"PT1H\",\"shards\":3,\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"},"
            + "{\"name\":\"total\",\"op\":\"sum\",\"field\":\"value\"},{\"name\":\"lowest\",\"op\":\"min\",\"field\":\"value\"},"
            + "{\"name\":\"highest\",\"op\":\"max\",\"field\":\"value\"},{\"name\":\"users\",\"op\":\"distinct\",\"field\":\"attributes.user\"}]}");
        String producer = token(tenant, "producer");
        String viewer = token(tenant, "viewer");
        Instant time = Instant.ofEpochMilli(Math.floorDiv(System.currentTimeMillis(), 3_600_000L) * 3_600_000L + 1_000);
        Map<String, Truth> truth = new TreeMap<>();
        // Per group and window: the highest 'events' a live message showed (it must never be shown lower).
        Map<String, Long> highestShown = new HashMap<>();
        List<String> wentDown = new ArrayList<>();
        try (Socket socket = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), viewer, 0)) {
            socket.send("{\"op\":\"subscribe\",\"id\":\"s\",\"ruleId\":\"" + rule + "\"}");
            assertEquals("snapshot", socket.next(Duration.ofSeconds(10)).get("type"));
            Consumer<Map<String, Object>> watch = m -> {
                for (Map<String, Object> w : (List<Map<String, Object>>) m.getOrDefault("windows", List.of())) {
                    for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                        String key = w.get("start") + " " + g.get("group");
                        long events = ((Number) ((Map<String, Object>) g.get("values")).get("events")).longValue();
                        Long before = highestShown.put(key, Math.max(events, highestShown.getOrDefault(key, 0L)));
                        if (before != null && events < before) {
                            wentDown.add(key + ": " + before + " -> " + events);
                        }
                    }
                }
            };
            int sent = 0;
            Random random = new Random(7);
            for (int batch = 0; batch < 30; batch++) {
                List<String> events = new ArrayList<>();
                for (int i = 0; i < 40; i++, sent++) {
                    String category = "c" + random.nextInt(24);
                    double value = random.nextInt(1_000) - 300;
                    String user = "u" + random.nextInt(50);
                    String id = "e" + sent;
                    events.add("{\"id\":\"" + id + "\",\"category\":\"" + category + "\",\"time\":\"" + time.plusMillis(sent)
                        + "\",\"value\":" + value + ",\"attributes\":{\"user\":\"" + user + "\"}}");
                    Truth t = truth.getOrDefault(category, new Truth(0, 0, Double.MAX_VALUE, -Double.MAX_VALUE, new TreeSet<>()));
                    t.users().add(user);
                    truth.put(category, new Truth(t.events() + 1, t.total() + value, Math.min(t.lowest(), value), Math.max(t.highest(), value), t.users()));
                }
                // A copy of an earlier event, in another category: counted once, where it was first counted.
                events.add("{\"id\":\"e" + (sent / 2) + "\",\"category\":\"copy\",\"time\":\"" + time + "\",\"value\":1}");
                post(producer, events.toArray(String[]::new));
                socket.drain().forEach(watch);
                if (batch == 15) {
                    fleet.kill("aggregation");
                    fleet.startOne("aggregation");
                }
            }
            long expected = sent;
            assertTrue(awaitSum(viewer, rule, "events", expected), "not every event was counted once");
            Map<String, Object> window = ((List<Map<String, Object>>) results(viewer, rule, "").get("windows")).getFirst();
            Map<String, Object> shown = new TreeMap<>();
            for (Map<String, Object> g : (List<Map<String, Object>>) window.get("groups")) {
                String category = (String) ((Map<String, Object>) g.get("group")).get("category");
                Map<String, Object> values = (Map<String, Object>) g.get("values");
                Truth t = truth.get(category);
                assertEquals(t.events(), ((Number) values.get("events")).longValue(), category);
                assertEquals(t.total(), ((Number) values.get("total")).doubleValue(), 1e-6, category);
                assertEquals(t.lowest(), ((Number) values.get("lowest")).doubleValue(), category);
                assertEquals(t.highest(), ((Number) values.get("highest")).doubleValue(), category);
                assertEquals(t.users().size(), ((Number) values.get("users")).doubleValue(), 1.0, category + " (a HyperLogLog estimate of at most 50 users)");
                shown.put(window.get("start") + " " + g.get("group"), values.get("events"));
            }
            assertEquals(truth.keySet().size(), shown.size(), "one group per category, no copy counted: " + shown.keySet());
            Map<String, Object> latest = new TreeMap<>();
            assertTrue(Deadline.in(Duration.ofSeconds(20)).await(() -> {
                for (Map<String, Object> m : socket.drain()) {
                    watch.accept(m);
                    for (Map<String, Object> w : (List<Map<String, Object>>) m.getOrDefault("windows", List.of())) {
                        for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                            latest.put(w.get("start") + " " + g.get("group"), ((Map<String, Object>) g.get("values")).get("events"));
                        }
                    }
                }
                return latest.equals(shown);
            }, Duration.ofMillis(50)), "live view " + latest + " never equalled the results " + shown);
            assertEquals(List.of(), wentDown, "a live value went down");
            System.out.printf("EXACTNESS shards: %d events (+30 copies) over 24 groups in 3 shards, the aggregation killed halfway: every group"
                + " exact, %d live values watched, none went down%n", sent, highestShown.size());
        }
    }
}
