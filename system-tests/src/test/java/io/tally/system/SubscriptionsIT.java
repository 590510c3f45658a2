package io.tally.system;

import io.micronaut.serde.ObjectMapper;
import io.tally.devstack.Deadline;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.URI;
import java.nio.file.Path;
import java.nio.file.Files;
import java.net.http.HttpResponse;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletionException;

import static io.tally.system.Fleet.send;
import static io.tally.system.Fleet.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Live subscriptions through the gateway's WebSocket, on the whole fleet: a snapshot then gap-free
 * updates whose counters never go down and end equal to the results API; errors as messages on an
 * open socket; unsubscribe; resume inside and outside the history; a slow reader gets coalesced
 * updates; two subscription-service instances each serve their own sockets.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SubscriptionsIT {

    private static final ObjectMapper JSON = ObjectMapper.getDefault();
    private static final String TIGHT = "tight-" + UUID.randomUUID().toString().substring(0, 6);
    private Fleet fleet;

    @BeforeAll
    void startFleet() throws Exception {
        // Pings every second: a socket whose pongs were not noticed would be closed within 3 s.
        fleet = new Fleet(Map.of("TALLY_TENANT_LIMITS", TIGHT + "=ingest:1000/1000,query:1/3")).withSubscriptionEnv(Map.of("TALLY_SUBSCRIPTION_PING_INTERVAL", "1s",
            // A small send buffer: a client that does not read is closed once 8 x 64 KiB wait for it.
            "TALLY_SUBSCRIPTION_SEND_BUFFER", "65536")).start("rules", "ingestion", "aggregation", "query", "subscription", "subscription-2", "gateway", "gateway-2");
    }

    @AfterAll
    void stopFleet() {
        if (fleet != null) {
            fleet.close();
        }
    }

    /** What a client holds: each window's groups with their latest values, checked message by message. */
    static final class View {
        final Map<String, Map<String, Map<String, Object>>> windows = new TreeMap<>();
        long version = -1;
        int messages;

        @SuppressWarnings("unchecked")
        void apply(Map<String, Object> message) {
            String type = (String) message.get("type");
            assertTrue(type.equals("snapshot") || type.equals("update"), "unexpected " + message);
            long v = ((Number) message.get("version")).longValue();
            if (version >= 0) {
                assertTrue(v > version, "versions must rise: " + version + " then " + v);
                if (type.equals("update")) {
                    assertEquals(version + 1, v, "updates are numbered one after another");
                }
            }
            version = v;
            messages++;
            if (type.equals("snapshot")) {
                windows.clear();
            }
            for (Map<String, Object> w : (List<Map<String, Object>>) message.get("windows")) {
                Map<String, Map<String, Object>> groups = windows.computeIfAbsent((String) w.get("start"), s -> new TreeMap<>());
                for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                    String key = String.valueOf(g.get("group"));
                    Map<String, Object> values = (Map<String, Object>) g.get("values");
                    Map<String, Object> before = groups.get(key);
                    if (before != null) {
                        long was = ((Number) before.get("events")).longValue();
                        long now = ((Number) values.get("events")).longValue();
                        assertTrue(now >= was, "a counter went down in " + w.get("start") + " " + key + ": " + was + " → " + now);
                    }
                    groups.put(key, values);
                }
            }
        }

        long total() {
            return windows.values().stream().flatMap(g -> g.values().stream()).mapToLong(v -> ((Number) v.get("events")).longValue()).sum();
        }

        /** Drains the socket into the view until {@code done} holds. */
        boolean until(Socket socket, Duration timeout, java.util.function.Predicate<View> done) {
            return Deadline.in(timeout).await(() -> {
                socket.drain().forEach(this::apply);
                return done.test(this);
            }, Duration.ofMillis(50));
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(HttpResponse<String> response) throws Exception {
        return JSON.readValue(response.body(), Map.class);
    }

    private String rule(String admin) throws Exception {
        return fleet.activeRule(admin, "{\"name\":\"live\",\"window\":{\"size\":\"PT1M\"},\"groupBy\":[\"category\"],"
            + "\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"},{\"name\":\"points\",\"op\":\"sum\",\"field\":\"value\"}]}");
    }

    /** Posts one batch of {@code n} events spread over {@code categories}, timed now; returns the ids' prefix. */
    private void post(String producer, String prefix, int n, int categories) throws Exception {
        Instant now = Instant.now();
        List<String> events = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            events.add("{\"id\":\"" + prefix + "-" + i + "\",\"category\":\"c" + (i % categories) + "\",\"time\":\"" + now + "\",\"value\":2}");
        }
        HttpResponse<String> r = send("POST", fleet.gateway("/api/v1/events"), producer, "{\"events\":[" + String.join(",", events) + "]}");
        assertEquals(202, r.statusCode(), r.body());
    }

    @SuppressWarnings("unchecked")
    private Map<String, Map<String, Map<String, Object>>> results(String viewer, String ruleId) throws Exception {
        Map<String, Map<String, Map<String, Object>>> out = new TreeMap<>();
        for (Map<String, Object> w : (List<Map<String, Object>>) json(send("GET", fleet.gateway("/api/v1/rules/" + ruleId + "/results"), viewer, null)).get("windows")) {
            Map<String, Map<String, Object>> groups = out.computeIfAbsent((String) w.get("start"), s -> new TreeMap<>());
            for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                groups.put(String.valueOf(g.get("group")), (Map<String, Object>) g.get("values"));
            }
        }
        return out;
    }

    private static String subscribe(String id, String ruleId) {
        return "{\"op\":\"subscribe\",\"id\":\"" + id + "\",\"ruleId\":\"" + ruleId + "\"}";
    }

    @Test
    void aSnapshotThenGapFreeUpdatesEndEqualToTheResults() throws Exception {
        String tenant = "live-" + UUID.randomUUID().toString().substring(0, 6);
        String admin = token(tenant, "admin");
        String producer = token(tenant, "producer");
        String viewer = token(tenant, "viewer");
        String ruleId = rule(admin);
        for (int b = 0; b < 50; b++) {
            post(producer, "before" + b, 3, 3);
        }
        // Subscribe while events keep coming: the snapshot races with updates and neither may be lost nor doubled.
        try (Socket socket = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), viewer, 0)) {
            socket.send(subscribe("s", ruleId));
            View view = new View();
            for (int b = 0; b < 250; b++) {
                post(producer, "after" + b, 3, 3);
                socket.drain().forEach(view::apply);
            }
            long expected = 300 * 3;
            assertTrue(view.until(socket, Duration.ofSeconds(30), v -> v.total() == expected),
                "the subscription shows " + view.total() + " of " + expected + " events");
            assertEquals(results(viewer, ruleId), view.windows, "the view must equal what the results API serves");
            assertTrue(view.messages > 10, "updates were pushed as events came: " + view.messages);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void badMessagesGetErrorsOnAnOpenSocketAndUnsubscribeStopsUpdates() throws Exception {
        String tenant = "err-" + UUID.randomUUID().toString().substring(0, 6);
        String admin = token(tenant, "admin");
        String ruleId = rule(admin);
        String otherRule = rule(token("other-" + tenant, "admin"));
        URI ws = Socket.ws(fleet.gateway("/api/v1/subscriptions"));

        // Authentication happens at the upgrade.
        CompletionException noToken = assertThrows(CompletionException.class, () -> Socket.open(ws, "not-a-token", 0));
        assertEquals(401, assertInstanceOf(WebSocketHandshakeException.class, noToken.getCause()).getResponse().statusCode());
        CompletionException producerOnly = assertThrows(CompletionException.class, () -> Socket.open(ws, token(tenant, "producer"), 0));
        assertEquals(403, ((WebSocketHandshakeException) producerOnly.getCause()).getResponse().statusCode());

        try (Socket socket = Socket.open(ws, token(tenant, "viewer"), 0)) {
            socket.send("{not json");
            assertEquals(400, ((Number) socket.next(Duration.ofSeconds(10)).get("status")).intValue());
            socket.send("{\"op\":\"subscribe\",\"id\":\"x\",\"ruleId\":\"no-such-rule\"}");
            Map<String, Object> unknown = socket.next(Duration.ofSeconds(10));
            assertEquals(Map.of("type", "error", "id", "x", "status", 404), Map.of("type", unknown.get("type"), "id", unknown.get("id"), "status", ((Number) unknown.get("status")).intValue()));
            socket.send(subscribe("y", otherRule));
            Map<String, Object> foreign = socket.next(Duration.ofSeconds(10));
            assertEquals(404, ((Number) foreign.get("status")).intValue(), "another tenant's rule is unknown: " + foreign);
            socket.send("{\"op\":\"subscribe\",\"id\":\"z\",\"ruleId\":\"" + ruleId + "\",\"groups\":{\"geo\":\"US\"}}");
            Map<String, Object> badGroup = socket.next(Duration.ofSeconds(10));
            assertEquals("/groups/geo", badGroup.get("pointer"), String.valueOf(badGroup));
            socket.send("{\"op\":\"dance\",\"id\":\"q\"}");
            assertEquals("/op", socket.next(Duration.ofSeconds(10)).get("pointer"));

            socket.send(subscribe("s", ruleId));
            assertEquals("snapshot", socket.next(Duration.ofSeconds(10)).get("type"), "the socket stayed open through the errors");
            socket.send("{\"op\":\"unsubscribe\",\"id\":\"s\"}");
            assertEquals(Map.of("type", "unsubscribed", "id", "s"), socket.next(Duration.ofSeconds(10)));
            post(token(tenant, "producer"), "after-unsubscribe", 5, 1);
            socket.send(subscribe("t", ruleId));
            View view = new View();
            view.apply(socket.next(Duration.ofSeconds(10)));
            assertTrue(view.until(socket, Duration.ofSeconds(20), v -> v.total() == 5));
            Thread.sleep(300); // nothing more may come for "s" (a bounded look, not a wait for a condition)
            for (Map<String, Object> m : socket.drain()) {
                assertEquals("t", m.get("id"), "no message after unsubscribe: " + m);
            }
        }
    }

    @Test
    void subscribeMessagesAreRateLimitedAtTheGateway() throws Exception {
        // Query bucket of 3 tokens refilled at 1/s: of 6 quick subscribes some are refused by the gateway.
        try (Socket socket = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), token(TIGHT, "viewer"), 0)) {
            for (int i = 0; i < 6; i++) {
                // Every other one spells the keyword with a JSON escape: it is the same subscribe, and costs the same.
                String message = subscribe("s" + i, "no-such-rule");
                socket.send(i % 2 == 0 ? message : message.replace("\"subscribe\"", "\"\\u0073ubscribe\""));
            }
            int refused = 0;
            int forwarded = 0;
            for (int i = 0; i < 6; i++) {
                Map<String, Object> m = socket.next(Duration.ofSeconds(10));
                int status = ((Number) m.get("status")).intValue();
                if (status == 429) {
                    refused++;
                    assertTrue(((Number) m.get("retryAfter")).intValue() >= 1, String.valueOf(m));
                } else {
                    assertEquals(404, status, "forwarded to the subscription service: " + m);
                    forwarded++;
                }
            }
            assertTrue(refused >= 2 && forwarded >= 1, refused + " refused, " + forwarded + " forwarded");
        }
    }

    @Test
    void aResumedSubscriptionGetsWhatChangedOrAFreshSnapshot() throws Exception {
        String tenant = "res-" + UUID.randomUUID().toString().substring(0, 6);
        String admin = token(tenant, "admin");
        String producer = token(tenant, "producer");
        String viewer = token(tenant, "viewer");
        String ruleId = rule(admin);
        URI ws = Socket.ws(fleet.gateway("/api/v1/subscriptions"));
        View view = new View();
        try (Socket socket = Socket.open(ws, viewer, 0)) {
            socket.send(subscribe("r", ruleId));
            view.apply(socket.next(Duration.ofSeconds(10)));
            post(producer, "one", 4, 2);
            assertTrue(view.until(socket, Duration.ofSeconds(20), v -> v.total() == 4));
        }
        long last = view.version;
        post(producer, "two", 6, 3); // while disconnected
        assertTrue(Deadline.in(Duration.ofSeconds(20)).await(() -> {
            try {
                return results(viewer, ruleId).values().stream().flatMap(g -> g.values().stream())
                    .mapToLong(v -> ((Number) v.get("events")).longValue()).sum() == 10;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(100)));
        try (Socket socket = Socket.open(ws, viewer, 0)) {
            socket.send("{\"op\":\"subscribe\",\"id\":\"r\",\"ruleId\":\"" + ruleId + "\",\"resumeVersion\":" + last + "}");
            Map<String, Object> first = socket.next(Duration.ofSeconds(10));
            assertEquals("update", first.get("type"), "inside the history a resume continues with the changes: " + first);
            view.apply(first);
            assertTrue(view.until(socket, Duration.ofSeconds(20), v -> v.total() == 10), "the resumed view has " + view.total());
            assertEquals(results(viewer, ruleId), view.windows);
        }
        try (Socket socket = Socket.open(ws, viewer, 0)) {
            // Unknown to the server (another id): a fresh snapshot, numbered after the client's version.
            socket.send("{\"op\":\"subscribe\",\"id\":\"never-seen\",\"ruleId\":\"" + ruleId + "\",\"resumeVersion\":41}");
            Map<String, Object> first = socket.next(Duration.ofSeconds(10));
            assertEquals("snapshot", first.get("type"));
            assertTrue(((Number) first.get("version")).longValue() > 41);
        }
    }

    @Test
    void aClientThatDoesNotReadIsClosedWhateverItSends() throws Exception {
        String tenant = "deaf-" + UUID.randomUUID().toString().substring(0, 6);
        String viewer = token(tenant, "viewer");
        String ruleId = rule(token(tenant, "admin"));
        String producer = token(tenant, "producer");
        for (int b = 0; b < 3; b++) {
            // 1,000 new categories each: 3,000 groups, ~200 KB a snapshot.
            StringBuilder body = new StringBuilder("{\"events\":[");
            for (int i = 0; i < 1000; i++) {
                body.append(i > 0 ? "," : "").append("{\"id\":\"w").append(b).append('-').append(i).append("\",\"category\":\"w")
                    .append(b).append('-').append(i).append("\",\"time\":\"").append(Instant.now()).append("\"}");
            }
            HttpResponse<String> r = send("POST", fleet.gateway("/api/v1/events"), producer, body.append("]}").toString());
            assertEquals(202, r.statusCode(), r.body());
        }
        assertTrue(Deadline.in(Duration.ofSeconds(30)).await(() -> {
            try {
                return results(viewer, ruleId).values().stream().mapToLong(g -> g.size()).sum() >= 3000;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(200)), "the 3,000 groups were not counted");
        URI ws = Socket.ws(fleet.gateway("/api/v1/subscriptions"));
        // It reads one message, then nothing for an hour, while it keeps asking for snapshots (and pings would not help).
        try (Socket deaf = Socket.open(ws, viewer, 3_600_000)) {
            for (int i = 0; i < 100 && !deaf.closed.isDone(); i++) {
                deaf.send(subscribe("s" + i, ruleId));
            }
            assertTrue(Deadline.in(Duration.ofSeconds(60)).await(() -> {
                for (String service : List.of("subscription.log", "subscription-2.log")) {
                    Path log = Fleet.LOGS.resolve(service);
                    try {
                        if (Files.exists(log) && Files.readString(log).contains("of tenant " + tenant + ": 1008")) {
                            return true;
                        }
                    } catch (java.io.IOException e) {
                        return false;
                    }
                }
                return false;
            }, Duration.ofMillis(500)), "a client that read nothing of ~20 MB of snapshots was never closed");
        }
    }

    @Test
    void aSlowReaderGetsCoalescedUpdatesWithTheLatestValues() throws Exception {
        String tenant = "slow-" + UUID.randomUUID().toString().substring(0, 6);
        String producer = token(tenant, "producer");
        String viewer = token(tenant, "viewer");
        String ruleId = rule(token(tenant, "admin"));
        URI ws = Socket.ws(fleet.gateway("/api/v1/subscriptions"));
        try (Socket fast = Socket.open(ws, viewer, 0); Socket slow = Socket.open(ws, viewer, 250)) {
            fast.send(subscribe("f", ruleId));
            slow.send(subscribe("s", ruleId));
            int changes = 120;
            for (int b = 0; b < changes; b++) {
                post(producer, "b" + b, 2, 2);
            }
            View fastView = new View();
            View slowView = new View();
            assertTrue(fastView.until(fast, Duration.ofSeconds(30), v -> v.total() == 2L * changes));
            assertTrue(slowView.until(slow, Duration.ofSeconds(60), v -> v.total() == 2L * changes), "slow view has " + slowView.total());
            assertEquals(results(viewer, ruleId), slowView.windows, "the slow reader ends with the latest values");
            assertTrue(slowView.messages < changes / 2, "the slow reader got " + slowView.messages + " messages for " + changes + " changes");
            // Both get one message per fan-out read at most; the slow one subscribed second, so its snapshot can come
            // one read after the fast one's and leave it one update the fast one's snapshot already held.
            assertTrue(slowView.messages <= fastView.messages + 1, "slow " + slowView.messages + " vs fast " + fastView.messages);
        }
    }

    @Test
    void twoSubscriptionServicesEachServeTheirOwnSockets() throws Exception {
        String tenant = "two-" + UUID.randomUUID().toString().substring(0, 6);
        String producer = token(tenant, "producer");
        String viewer = token(tenant, "viewer");
        String ruleId = rule(token(tenant, "admin"));
        try (Socket one = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), viewer, 0);
             Socket two = Socket.open(Socket.ws(fleet.gateway2("/api/v1/subscriptions")), viewer, 0)) {
            one.send(subscribe("a", ruleId));
            two.send(subscribe("a", ruleId));
            View a = new View();
            View b = new View();
            a.apply(one.next(Duration.ofSeconds(10)));
            b.apply(two.next(Duration.ofSeconds(10)));
            for (int i = 0; i < 10; i++) {
                post(producer, "p" + i, 3, 3);
            }
            assertTrue(a.until(one, Duration.ofSeconds(20), v -> v.total() == 30), "instance 1 delivered " + a.total());
            assertTrue(b.until(two, Duration.ofSeconds(20), v -> v.total() == 30), "instance 2 delivered " + b.total());
            assertEquals(a.windows, b.windows);
            // Idle sockets answer the pings (through the gateway) and stay open across several ping intervals.
            assertThrows(java.util.concurrent.TimeoutException.class, () -> one.closed.get(4, java.util.concurrent.TimeUnit.SECONDS), "the idle socket was closed");
            assertTrue(!two.closed.isDone(), "the idle socket on instance 2 was closed: " + two.closed.getNow(""));

            // The subscription service going away closes the client's socket (the gateway does not hang on to it).
            fleet.kill("subscription-2");
            String closed = two.closed.get(15, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(closed.startsWith("1011") || closed.startsWith("1006") || closed.startsWith("1001"), "closed with " + closed);
            assertTrue(!one.closed.isDone(), "the other instance's socket is unaffected");
        }
    }
}
