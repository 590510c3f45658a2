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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.tally.system.Fleet.send;
import static io.tally.system.Fleet.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Backfill and replay through the gateway: a changed rule is computed from the retained events beside the version that
 * keeps serving, survives the aggregation being killed halfway, and switches over in one snapshot, exact against a ground
 * truth of every event (history and live traffic meanwhile); a new rule with a backfill; a replay of a tenant's rules from
 * the log; and the bad inputs of both.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BackfillIT {

    private static final ObjectMapper JSON = ObjectMapper.getDefault();
    /** Backfills read at most this many records a second here, so one lasts long enough to be killed halfway. */
    private static final int BACKFILL_RATE = 8_000;
    /**
     * Ids one backfill may hold here: the minute windows of the other tests keep a few thousand at once (two 2-minute
     * generations); an hour window keeps every id of its span.
     */
    private static final int MAX_IDS = 10_000;
    private Fleet fleet;

    @BeforeAll
    void startFleet() throws Exception {
        fleet = new Fleet(Map.of()).withAggregationEnv(Map.of("TALLY_BACKFILL_RATE", Integer.toString(BACKFILL_RATE),
                "TALLY_BACKFILL_MAX_IDS", Integer.toString(MAX_IDS)))
            .start("rules", "ingestion", "aggregation", "query", "subscription", "gateway");
    }

    @AfterAll
    void stopFleet() {
        if (fleet != null) {
            fleet.close();
        }
    }

    /** Counts and sums per window start and category, of the events a rule counts (each id once, as first sent). */
    private static final class Truth {
        private final Set<String> ids = ConcurrentHashMap.newKeySet();
        private final Map<String, long[]> cells = new ConcurrentHashMap<>();
        private final Set<String> categories;

        Truth(Set<String> categories) {
            this.categories = categories;
        }

        void add(String id, String category, Instant time, long value) {
            if (!ids.add(id) || !categories.contains(category)) {
                return;
            }
            long start = Math.floorDiv(time.toEpochMilli(), 60_000L) * 60_000L;
            long[] cell = cells.computeIfAbsent(Instant.ofEpochMilli(start) + " " + category, k -> new long[2]);
            synchronized (cell) {
                cell[0]++;
                cell[1] += value;
            }
        }

        Map<String, String> shown() {
            return shown(true);
        }

        /** As the results show them ({@link #shown(Map)}): {@code count/sum}, or {@code count/0} for a rule without the sum. */
        Map<String, String> shown(boolean withSum) {
            Map<String, String> out = new TreeMap<>();
            cells.forEach((k, v) -> out.put(k, v[0] + "/" + (withSum ? v[1] : 0)));
            return out;
        }
    }

    private static String event(String id, String category, Instant time, long value) {
        return "{\"id\":\"" + id + "\",\"category\":\"" + category + "\",\"time\":\"" + time + "\",\"value\":" + value + "}";
    }

    private void post(String producer, List<String> events) throws Exception {
        for (int i = 0; i < events.size(); i += 1_000) {
            List<String> part = events.subList(i, Math.min(events.size(), i + 1_000));
            HttpResponse<String> r;
            do {
                r = send("POST", fleet.gateway("/api/v1/events"), producer, "{\"events\":[" + String.join(",", part) + "]}");
            } while (r.statusCode() == 429);
            assertEquals(202, r.statusCode(), r.body());
        }
    }

    /** History: {@code n} events over the last 30 minutes, in time order, c0..c4, and a copy of every 40th under another category. */
    private void postHistory(String producer, int n, List<Truth> truths) throws Exception {
        Instant start = Instant.now().minus(Duration.ofMinutes(30));
        List<String> events = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Instant time = start.plusMillis(i * (28 * 60_000L) / n);
            String category = "c" + (i % 5);
            events.add(event("h" + i, category, time, i % 7));
            for (Truth t : truths) {
                t.add("h" + i, category, time, i % 7);
            }
            if (i % 40 == 0) {
                events.add(event("h" + i, "c3", time.plusSeconds(1), 100));
            }
        }
        post(producer, events);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(HttpResponse<String> response) throws Exception {
        return JSON.readValue(response.body(), Map.class);
    }

    private Map<String, Object> rule(String token, String id) throws Exception {
        HttpResponse<String> r = send("GET", fleet.gateway("/api/v1/rules/" + id), token, null);
        assertEquals(200, r.statusCode(), r.body());
        return json(r);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> results(String viewer, String id) throws Exception {
        Instant now = Instant.now();
        HttpResponse<String> r = send("GET", fleet.gateway("/api/v1/rules/" + id + "/results?from=" + now.minus(Duration.ofMinutes(40))
            + "&to=" + now.plus(Duration.ofMinutes(2))), viewer, null);
        assertEquals(200, r.statusCode(), r.body());
        return json(r);
    }

    /** What the results show per window and category: {@code count/sum} ({@code count/0} for a rule without the sum). */
    @SuppressWarnings("unchecked")
    private static Map<String, String> shown(Map<String, Object> results) {
        Map<String, String> out = new TreeMap<>();
        for (Map<String, Object> w : (List<Map<String, Object>>) results.get("windows")) {
            for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                Map<String, Object> values = (Map<String, Object>) g.get("values");
                Object sum = values.getOrDefault("s", 0);
                out.put(w.get("start") + " " + ((Map<String, Object>) g.get("group")).get("category"),
                    ((Number) values.get("n")).longValue() + "/" + ((Number) sum).longValue());
            }
        }
        return out;
    }

    /** Whether {@code condition} holds within {@code within}, asked every {@code every}; an exception counts as "not yet". */
    private static boolean eventually(Duration within, Callable<Boolean> condition, Duration every) {
        return Deadline.in(within).await(() -> {
            try {
                return condition.call();
            } catch (Exception e) {
                return false;
            }
        }, every);
    }

    private boolean awaitStatus(String admin, String id, String status, Duration within) {
        return eventually(within, () -> status.equals(rule(admin, id).get("status")), Duration.ofMillis(200));
    }

    private static final String V1 = "{\"name\":\"b\",\"groupBy\":[\"category\"],\"window\":{\"size\":\"PT1M\"},\"allowedLateness\":\"PT5S\","
        + "\"retention\":\"PT2H\",\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"}]}";
    /** The changed rule: only c0..c3, and a sum too, computed from the last hour of the log. */
    private static final String V2 = "{\"name\":\"b\",\"filter\":{\"categories\":[\"c0\",\"c1\",\"c2\",\"c3\"]},\"groupBy\":[\"category\"],"
        + "\"window\":{\"size\":\"PT1M\"},\"allowedLateness\":\"PT5S\",\"retention\":\"PT2H\",\"shards\":2,\"backfill\":\"PT1H\","
        + "\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"},{\"name\":\"s\",\"op\":\"sum\",\"field\":\"value\"}]}";

    @Test
    @SuppressWarnings("unchecked")
    void aChangedRuleIsBackfilledBesideTheServingVersionSurvivesAKillAndSwitchesOverInOneSnapshot() throws Exception {
        String tenant = "bf-" + UUID.randomUUID().toString().substring(0, 6);
        String admin = token(tenant, "admin");
        String producer = token(tenant, "producer");
        String viewer = token(tenant, "viewer");
        String id = fleet.activeRule(admin, V1);
        Truth truth = new Truth(Set.of("c0", "c1", "c2", "c3"));
        int history = 24_000;
        postHistory(producer, history, List.of(truth));
        AtomicBoolean live = new AtomicBoolean(true);
        AtomicReference<Exception> liveFailure = new AtomicReference<>();
        Instant liveFrom = Instant.now();
        Thread producerThread = Thread.ofPlatform().start(() -> {
            int k = 0;
            while (live.get()) {
                List<String> events = new ArrayList<>();
                for (int i = 0; i < 40; i++, k++) {
                    Instant time = Instant.now().minusSeconds(1);
                    events.add(event("l" + k, "c" + (k % 5), time, k % 7));
                    truth.add("l" + k, "c" + (k % 5), time, k % 7);
                }
                try {
                    post(producer, events);
                    Thread.sleep(100);
                } catch (Exception e) {
                    liveFailure.set(e);
                    return;
                }
            }
        });
        try (Socket socket = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), viewer, 0)) {
            socket.send("{\"op\":\"subscribe\",\"id\":\"s\",\"ruleId\":\"" + id + "\"}");
            Map<String, Object> first = socket.next(Duration.ofSeconds(10));
            assertEquals("snapshot", first.get("type"));
            assertEquals(1, ((Number) first.get("ruleVersion")).intValue());

            HttpResponse<String> put = send("PUT", fleet.gateway("/api/v1/rules/" + id), admin, V2);
            assertEquals(200, put.statusCode(), put.body());
            assertEquals("backfilling", json(put).get("status"), put.body());
            // The old version keeps serving, and counting, meanwhile.
            Map<String, Object> during = results(viewer, id);
            assertEquals(1, ((Number) during.get("ruleVersion")).intValue(), "version 1 serves while version 2 is backfilled");
            AtomicReference<Map<String, Object>> progress = new AtomicReference<>();
            assertTrue(eventually(Duration.ofSeconds(60), () -> {
                Map<String, Object> r = rule(admin, id);
                Map<String, Object> backfill = (Map<String, Object>) r.get("backfill");
                if ("backfilling".equals(r.get("status")) && backfill != null && ((Number) backfill.get("eventsRead")).longValue() > 2_000) {
                    progress.set(r);
                    return true;
                }
                return false;
            }, Duration.ofMillis(100)), "the backfill never showed progress");
            System.out.printf("BACKFILL progress before the kill: %s%n", progress.get().get("backfill"));
            assertNotNull(((Map<String, Object>) progress.get().get("backfill")).get("position"));
            fleet.kill("aggregation");
            fleet.startOne("aggregation");
            long killedAt = System.currentTimeMillis();
            assertTrue(awaitStatus(admin, id, "active", Duration.ofSeconds(120)), "version 2 never became active: " + rule(admin, id));
            System.out.printf("BACKFILL: %d history records (+%d copies), the aggregation killed halfway, version 2 active %d ms after the restart%n",
                history, history / 40, System.currentTimeMillis() - killedAt);
            live.set(false);
            producerThread.join();
            assertEquals(null, liveFailure.get());

            // Exact: every event of the history and of the live traffic, each id once, as version 2 counts them.
            Map<String, String> expected = truth.shown();
            AtomicReference<Map<String, Object>> last = new AtomicReference<>();
            boolean exact = eventually(Duration.ofSeconds(60), () -> {
                last.set(results(viewer, id));
                return shown(last.get()).equals(expected);
            }, Duration.ofMillis(250));
            assertEquals(2, ((Number) last.get().get("ruleVersion")).intValue());
            assertTrue(exact, "version 2 " + diff(shown(last.get()), expected));
            assertEquals(0, ((Number) last.get().get("lateEvents")).intValue());

            // The subscriber got one snapshot of version 2 at the switch, holding the whole of the windows before the live traffic.
            List<Map<String, Object>> snapshots = new ArrayList<>();
            assertTrue(Deadline.in(Duration.ofSeconds(20)).await(() -> {
                socket.drain().stream().filter(m -> "snapshot".equals(m.get("type"))).forEach(snapshots::add);
                return !snapshots.isEmpty();
            }, Duration.ofMillis(100)), "no snapshot of version 2 reached the subscriber");
            assertEquals(1, snapshots.size(), "one snapshot at the switch");
            Map<String, Object> snapshot = snapshots.getFirst();
            assertEquals(2, ((Number) snapshot.get("ruleVersion")).intValue());
            Map<String, String> inSnapshot = shown(snapshot);
            int compared = 0;
            long liveWindow = Math.floorDiv(liveFrom.toEpochMilli(), 60_000L) * 60_000L;
            for (Map.Entry<String, String> cell : inSnapshot.entrySet()) {
                if (Instant.parse(cell.getKey().split(" ")[0]).toEpochMilli() < liveWindow) {
                    assertEquals(expected.get(cell.getKey()), cell.getValue(), "the switch snapshot's " + cell.getKey());
                    compared++;
                }
            }
            assertTrue(compared > 0, "the snapshot showed no window of the history: " + inSnapshot.keySet());
            System.out.printf("BACKFILL exact: %d windows x categories equal the ground truth; the switch snapshot matched %d history cells%n",
                expected.size(), compared);
        } finally {
            live.set(false);
            producerThread.join();
        }
    }

    private static String diff(Map<String, String> got, Map<String, String> expected) {
        List<String> out = new ArrayList<>();
        Set<String> keys = new HashSet<>(got.keySet());
        keys.addAll(expected.keySet());
        keys.stream().sorted().filter(k -> !String.valueOf(got.get(k)).equals(String.valueOf(expected.get(k))))
            .limit(10).forEach(k -> out.add(k + ": got " + got.get(k) + ", expected " + expected.get(k)));
        return "differs from the ground truth in " + out;
    }

    @Test
    @SuppressWarnings("unchecked")
    void aNewRuleWithABackfillRefusesBadSpansAndServesEveryRetainedEventOnceItIsActive() throws Exception {
        String tenant = "bfnew-" + UUID.randomUUID().toString().substring(0, 6);
        String admin = token(tenant, "admin");
        String viewer = token(tenant, "viewer");
        for (String bad : List.of("\"PT0S\"", "\"P8D\"", "5", "\"an hour\"", "\"PT3H\"")) {
            HttpResponse<String> r = send("POST", fleet.gateway("/api/v1/rules"), admin, V2.replace("\"PT1H\"", bad));
            assertEquals(400, r.statusCode(), bad + ": " + r.body());
            assertTrue(r.body().contains("\"pointer\":\"/backfill\""), bad + ": " + r.body());
        }
        assertEquals("{\"rules\":[]}", send("GET", fleet.gateway("/api/v1/rules"), admin, null).body(), "nothing was created");

        Truth truth = new Truth(Set.of("c0", "c1", "c2", "c3"));
        postHistory(token(tenant, "producer"), 3_000, List.of(truth));
        // With a rollup tier of ten minutes: the backfilled windows are rolled up when the version switches over.
        HttpResponse<String> created = send("POST", fleet.gateway("/api/v1/rules"), admin,
            V2.replace("\"backfill\"", "\"rollup\":{\"resolution\":\"PT10M\"},\"backfill\""));
        assertEquals(201, created.statusCode(), created.body());
        String id = (String) json(created).get("id");
        assertEquals("backfilling", json(created).get("status"));
        assertTrue(awaitStatus(admin, id, "active", Duration.ofSeconds(120)), "never active: " + rule(admin, id));
        Map<String, Object> results = results(viewer, id);
        assertEquals(1, ((Number) results.get("ruleVersion")).intValue());
        assertEquals(truth.shown(), shown(results));

        // Each final ten-minute window holds the sum of the minute windows inside it.
        Map<String, long[]> tens = new TreeMap<>();
        truth.shown().forEach((cell, value) -> {
            String[] parts = cell.split(" ");
            long start = Math.floorDiv(Instant.parse(parts[0]).toEpochMilli(), 600_000L) * 600_000L;
            long[] sum = tens.computeIfAbsent(Instant.ofEpochMilli(start) + " " + parts[1], k -> new long[2]);
            String[] numbers = value.split("/");
            sum[0] += Long.parseLong(numbers[0]);
            sum[1] += Long.parseLong(numbers[1]);
        });
        AtomicReference<Map<String, Object>> rolled = new AtomicReference<>();
        assertTrue(eventually(Duration.ofSeconds(30), () -> {
            Instant now = Instant.now();
            HttpResponse<String> r = send("GET", fleet.gateway("/api/v1/rules/" + id + "/results?resolution=PT10M&from="
                + now.minus(Duration.ofMinutes(40)) + "&to=" + now), viewer, null);
            rolled.set(json(r));
            return ((List<Map<String, Object>>) rolled.get().get("windows")).stream().anyMatch(w -> Boolean.TRUE.equals(w.get("final")));
        }, Duration.ofMillis(250)), "no ten-minute window turned final: " + rolled.get());
        int compared = 0;
        for (Map<String, Object> w : (List<Map<String, Object>>) rolled.get().get("windows")) {
            assertEquals(Instant.parse((String) w.get("start")).plus(Duration.ofMinutes(10)).toString(), w.get("end"));
            if (!Boolean.TRUE.equals(w.get("final"))) {
                continue;
            }
            for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                Map<String, Object> values = (Map<String, Object>) g.get("values");
                long[] expected = tens.get(w.get("start") + " " + ((Map<String, Object>) g.get("group")).get("category"));
                assertEquals(expected[0] + "/" + expected[1], ((Number) values.get("n")).longValue() + "/" + ((Number) values.get("s")).longValue(),
                    "the rollup window " + w.get("start") + " " + g.get("group"));
                compared++;
            }
        }
        assertTrue(compared > 0);
        HttpResponse<String> other = send("GET", fleet.gateway("/api/v1/rules/" + id + "/results?resolution=PT5M"), viewer, null);
        assertEquals(400, other.statusCode());
        assertTrue(other.body().contains("\"pointer\":\"/resolution\""), other.body());
        System.out.printf("BACKFILL rollup: %d final ten-minute cells equal the sums of their minute windows%n", compared);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aReplayRebuildsTheTenantsRulesFromTheLogAndRefusesBadRequests() throws Exception {
        String tenant = "replay-" + UUID.randomUUID().toString().substring(0, 6);
        String admin = token(tenant, "admin");
        String viewer = token(tenant, "viewer");
        String id = fleet.activeRule(admin, V1);
        Truth truth = new Truth(Set.of("c0", "c1", "c2", "c3", "c4"));
        postHistory(token(tenant, "producer"), 3_000, List.of(truth));
        Map<String, String> expected = truth.shown(false);
        assertTrue(eventually(Duration.ofSeconds(60), () -> {
            return shown(results(viewer, id)).equals(expected);
        }, Duration.ofMillis(200)), "version 1 never counted the history");
        // Redis loses the rule's state (its keys deleted on every master): the results show nothing any more.
        long lost = new RedisNodes(fleet.stack).deleteMatching("{r:" + tenant + ":" + id + "}*");
        assertTrue(lost > 0, "no key of the rule was found");
        assertEquals(Map.of(), shown(results(viewer, id)), "the lost windows still show");
        String from = Instant.now().minus(Duration.ofHours(1)).toString();
        record Bad(String token, String body, int status, String pointer) {
        }
        for (Bad bad : List.of(
            new Bad(viewer, "{\"tenant\":\"" + tenant + "\",\"from\":\"" + from + "\"}", 403, null),
            new Bad(admin, "{}", 400, "/from"),
            new Bad(admin, "[]", 400, ""),
            new Bad(admin, "{\"tenant\":\"" + tenant + "\",\"from\":\"yesterday\"}", 400, "/from"),
            new Bad(admin, "{\"tenant\":\"" + tenant + "\",\"from\":\"" + Instant.now().plus(Duration.ofHours(1)) + "\"}", 400, "/from"),
            new Bad(admin, "{\"tenant\":\"" + tenant + "\",\"from\":\"" + Instant.now().minus(Duration.ofDays(30)) + "\"}", 400, "/from"),
            new Bad(admin, "{\"tenant\":\"" + tenant + "\",\"from\":\"" + from + "\",\"rule\":\"x\"}", 400, "/rule"),
            new Bad(admin, "{\"tenant\":\"someone-else\",\"from\":\"" + from + "\"}", 403, "/tenant"),
            new Bad(admin, "{\"tenant\":\"" + tenant + "\",\"ruleId\":\"" + UUID.randomUUID() + "\",\"from\":\"" + from + "\"}", 404, null))) {
            HttpResponse<String> r = send("POST", fleet.gateway("/api/v1/admin/replay"), bad.token(), bad.body());
            assertEquals(bad.status(), r.statusCode(), bad.body() + ": " + r.body());
            assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/problem+json"), r.body());
            if (bad.pointer() != null) {
                assertTrue(r.body().contains("\"pointer\":\"" + bad.pointer() + "\""), bad.body() + ": " + r.body());
            }
        }
        assertEquals(1, ((Number) rule(admin, id).get("version")).intValue(), "no bad request started a replay");
        String empty = "empty-" + UUID.randomUUID().toString().substring(0, 6);
        HttpResponse<String> none = send("POST", fleet.gateway("/api/v1/admin/replay"), token(empty, "admin"),
            "{\"tenant\":\"" + empty + "\",\"from\":\"" + from + "\"}");
        assertEquals(202, none.statusCode(), none.body());
        assertEquals("{\"replays\":[]}", none.body(), "a tenant without rules: nothing to rebuild");

        HttpResponse<String> replay = send("POST", fleet.gateway("/api/v1/admin/replay"), admin,
            "{\"tenant\":\"" + tenant + "\",\"from\":\"" + from + "\"}");
        assertEquals(202, replay.statusCode(), replay.body());
        List<Map<String, Object>> replays = (List<Map<String, Object>>) json(replay).get("replays");
        assertEquals(1, replays.size(), replay.body());
        assertEquals(2, ((Number) replays.getFirst().get("version")).intValue());
        assertTrue(awaitStatus(admin, id, "active", Duration.ofSeconds(120)), "the replayed version never became active: " + rule(admin, id));
        Map<String, Object> results = results(viewer, id);
        assertEquals(2, ((Number) results.get("ruleVersion")).intValue());
        assertEquals(expected, shown(results), "the replay rebuilt every window from the log");
        assertEquals(0, ((Number) results.get("lateEvents")).intValue());
        System.out.printf("BACKFILL replay: %d keys lost, %d windows x categories rebuilt from the log, equal to the ground truth%n", lost,
            expected.size());
    }

    @Test
    void aBackfillThatCannotFinishFailsSayingWhyAndTheVersionBeforeKeepsServing() throws Exception {
        String tenant = "bffail-" + UUID.randomUUID().toString().substring(0, 6);
        String admin = token(tenant, "admin");
        String viewer = token(tenant, "viewer");
        String hourly = V1.replace("\"PT1M\"", "\"PT1H\"");
        String id = fleet.activeRule(admin, hourly);
        Truth truth = new Truth(Set.of("c0", "c1", "c2", "c3", "c4"));
        postHistory(token(tenant, "producer"), 12_000, List.of(truth));
        long expected = 12_000;
        assertTrue(eventually(Duration.ofSeconds(60), () -> {
            return total(results(viewer, id)) == expected;
        }, Duration.ofMillis(200)), "version 1 never counted the history");

        // An hour window keeps every id of the span to count duplicates once: 12,000, over the limit of 10,000.
        HttpResponse<String> put = send("PUT", fleet.gateway("/api/v1/rules/" + id), admin, hourly.replace("\"retention\"", "\"backfill\":\"PT1H\",\"retention\""));
        assertEquals(200, put.statusCode(), put.body());
        assertTrue(awaitStatus(admin, id, "failed", Duration.ofSeconds(60)), "the backfill did not fail: " + rule(admin, id));
        Map<String, Object> failed = rule(admin, id);
        assertEquals(2, ((Number) failed.get("version")).intValue());
        assertTrue(String.valueOf(failed.get("reason")).contains("TALLY_BACKFILL_MAX_IDS"), failed.toString());
        Map<String, Object> served = results(viewer, id);
        assertEquals(1, ((Number) served.get("ruleVersion")).intValue(), "the version before keeps serving");
        assertEquals(expected, total(served));

        // Changed again without a backfill: a plain new version serves.
        HttpResponse<String> again = send("PUT", fleet.gateway("/api/v1/rules/" + id), admin, hourly);
        assertEquals(200, again.statusCode(), again.body());
        assertTrue(awaitStatus(admin, id, "active", Duration.ofSeconds(30)), "version 3 never became active: " + rule(admin, id));
        System.out.printf("BACKFILL failure: %s%n", failed.get("reason"));
    }

    @SuppressWarnings("unchecked")
    private static long total(Map<String, Object> results) {
        long total = 0;
        for (Map<String, Object> w : (List<Map<String, Object>>) results.get("windows")) {
            for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                total += ((Number) ((Map<String, Object>) g.get("values")).get("n")).longValue();
            }
        }
        return total;
    }
}
