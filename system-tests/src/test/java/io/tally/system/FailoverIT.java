package io.tally.system;

import io.micronaut.serde.ObjectMapper;
import io.tally.devstack.Deadline;
import io.tally.devstack.KafkaBroker;
import io.tally.devstack.PostgresServer;
import io.tally.testinfra.ServiceJar;
import io.tally.testinfra.TestStack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.tally.system.Fleet.send;
import static io.tally.system.Fleet.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Infrastructure fails under the whole fleet while a producer and a reader run through the gateway: a Redis
 * master killed (its replica promoted by the cluster) and later restarted as a replica, a replica forced to
 * take over, the Kafka broker restarted, PostgreSQL restarted; then the engine itself: three aggregation
 * instances with one killed, and one paused past its session timeout (a zombie) and resumed. For each: no request hangs past its bound,
 * every path works again within 10 s of the infrastructure having recovered, every acknowledged event is
 * counted exactly once, no reader sees a counter go down, and readiness recovers without restarts. The
 * figures of each run are printed as lines starting with {@code FAILOVER}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FailoverIT {

    private static final ObjectMapper JSON = ObjectMapper.getDefault();
    /** The aim: every path works again within this long after the infrastructure recovered. */
    private static final long RECOVERY_AIM_MILLIS = 10_000;
    /** The longest any request may take: the gateway's downstream timeout (10 s) and a margin. */
    private static final long REQUEST_BOUND_MILLIS = 12_000;

    private Fleet fleet;
    private RedisNodes redis;
    private final String tenant = "failover-" + UUID.randomUUID().toString().substring(0, 6);
    private String ruleId;

    @BeforeAll
    void startFleet() throws Exception {
        Assumptions.assumeTrue(!"true".equalsIgnoreCase(System.getenv("TALLY_TEST_ATTACH")),
            "attached to a stack this test must not break");
        fleet = new Fleet(Map.of("TALLY_BREAKER_OPEN_FOR", "2s"))
            .start("rules", "ingestion", "aggregation", "query", "subscription", "gateway");
        redis = new RedisNodes(fleet.stack);
        ruleId = ruleOnTheRateLimitersMaster();
    }

    @AfterAll
    void stopFleet() {
        if (fleet != null) {
            fleet.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    /**
     * A counting rule whose first shard lives on the same master as the tenant's ingest bucket, so killing that
     * master hits the gateway's rate limiter, the aggregation's writes and the query's reads at once.
     */
    private String ruleOnTheRateLimitersMaster() throws Exception {
        String admin = token(tenant, "admin");
        RedisNodes.Node limiter = redis.masterOf("{rl:" + tenant + "}:ingest");
        String id = null;
        for (int attempt = 0; attempt < 20; attempt++) {
            // Six categories over three shards: the first shard (on the limiter's master) dies with it, the others live on.
            id = fleet.activeRule(admin, "{\"name\":\"failover\",\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"}],"
                + "\"groupBy\":[\"category\"],\"shards\":3,\"window\":{\"size\":\"PT1H\"},\"allowedLateness\":\"PT10M\"}");
            if (redis.masterOf(ruleKey(id)).id().equals(limiter.id())) {
                break;
            }
            assertEquals(204, send("DELETE", fleet.gateway("/api/v1/rules/" + id), admin, null).statusCode());
        }
        return id;
    }

    private String ruleKey(String id) {
        return "{r:" + tenant + ":" + id + "}:meta";
    }

    @Test
    @Order(1)
    void aKilledRedisMasterCostsSecondsAndNoAcknowledgedEvent() throws Exception {
        RedisNodes.Node master = redis.masterOf(ruleKey(ruleId));
        RedisNodes.Node replica = redis.replicaOf(master).orElseThrow();
        runFault("redis master killed (kill -9), replica promoted, old master back as a replica", () -> {
            redis.kill(master);
            assertTrue(Deadline.in(Duration.ofSeconds(60)).await(() -> redis.isMasterAndOk(replica), Duration.ofMillis(100)),
                "the cluster did not promote the replica");
        }, () -> {
            // The old master comes back empty and becomes the new master's replica.
            redis.restartDead();
            assertTrue(redis.nodes().stream().anyMatch(n -> n.port() == master.port() && !n.master()), "the old master did not rejoin as a replica");
        });
    }

    @Test
    @Order(2)
    void aReplicaForcedToTakeOverCostsNothing() throws Exception {
        RedisNodes.Node master = redis.masterOf(ruleKey(ruleId));
        RedisNodes.Node replica = redis.replicaOf(master).orElseThrow();
        runFault("CLUSTER FAILOVER forced on a replica", () -> {
            redis.failover(replica);
            assertTrue(Deadline.in(Duration.ofSeconds(60)).await(() -> redis.isMasterAndOk(replica), Duration.ofMillis(100)),
                "the replica did not take over");
        }, () -> {
        });
    }

    @Test
    @Order(3)
    void aRestartedKafkaBrokerCostsSecondsAndNoAcknowledgedEvent() throws Exception {
        KafkaBroker kafka = TestStack.ownKafka().orElseThrow();
        runFault("Kafka broker restarted", () -> {
            kafka.stop();
            pause(3_000);
            kafka.start();
            kafka.awaitReady(Deadline.in(Duration.ofSeconds(90)));
        }, () -> {
        });
    }

    @Test
    @Order(4)
    void postgresqlDownFor30SecondsWhileRulesChangeAnswers503AndRecoversByItself() throws Exception {
        PostgresServer postgres = new PostgresServer(fleet.stack);
        String admin = token(tenant, "admin");
        String body = "{\"name\":\"changing-%d\",\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"}],\"window\":{\"size\":\"PT1M\"}}";
        String changing = fleet.activeRule(admin, body.formatted(0));
        List<long[]> rulesCalls = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<String> badRefusals = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtomicBoolean polling = new AtomicBoolean(true);
        Thread rulesReader = Thread.ofPlatform().start(() -> {
            // An admin keeps reading one rule and changing another the whole time.
            for (int i = 1; polling.get(); i++) {
                long start = System.currentTimeMillis();
                int status;
                try {
                    HttpResponse<String> response = i % 2 == 0
                        ? send("GET", fleet.gateway("/api/v1/rules/" + ruleId), admin, null)
                        : send("PUT", fleet.gateway("/api/v1/rules/" + changing), admin, body.formatted(i));
                    status = response.statusCode();
                    if (status == 503 && (response.headers().firstValue("Retry-After").isEmpty()
                        || !response.headers().firstValue("Content-Type").orElse("").contains("problem+json"))) {
                        badRefusals.add(response.headers().map() + " " + response.body());
                    }
                } catch (Exception e) {
                    status = -1;
                }
                rulesCalls.add(new long[] {start, System.currentTimeMillis() - start, status});
                pause(200);
            }
        });
        long[] recovered = new long[1];
        long outageStart = System.currentTimeMillis();
        try {
            runFault("PostgreSQL down for 30 s while an admin changes rules", () -> {
                postgres.stop();
                pause(30_000);
                postgres.start();
                postgres.awaitReady(Deadline.in(Duration.ofSeconds(60)));
                recovered[0] = System.currentTimeMillis();
            }, () -> {
            });
        } finally {
            polling.set(false);
            rulesReader.join();
        }
        // The last change made after PostgreSQL came back is the rule's version, and it becomes active.
        HttpResponse<String> last = send("PUT", fleet.gateway("/api/v1/rules/" + changing), admin, body.formatted(999_999));
        assertEquals(200, last.statusCode(), last.body());
        long activeAt = System.currentTimeMillis();
        assertTrue(Deadline.in(Duration.ofSeconds(10)).await(() -> {
            try {
                String rule = send("GET", fleet.gateway("/api/v1/rules/" + changing), admin, null).body();
                return rule.contains("\"status\":\"active\"") && rule.contains("changing-999999");
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(100)), "a rule changed after the outage did not become active");
        System.out.printf("FAILOVER PostgreSQL down 30 s: a rule changed after it was active %d ms later%n", System.currentTimeMillis() - activeAt);
        assertEquals(List.of(), badRefusals, "a 503 without Retry-After or problem+json");
        long longest = rulesCalls.stream().filter(c -> c[0] >= outageStart).mapToLong(c -> c[1]).max().orElse(0);
        long refused = rulesCalls.stream().filter(c -> c[0] >= outageStart && c[2] == 503).count();
        long backAfter = rulesCalls.stream().filter(c -> c[0] >= recovered[0] && c[2] == 200)
            .mapToLong(c -> c[0] + c[1] - recovered[0]).min().orElse(-1);
        System.out.printf("FAILOVER PostgreSQL down 30 s: rules API longest request %d ms, %d answered 503, back %d ms after PostgreSQL was ready%n",
            longest, refused, backAfter);
        assertTrue(refused > 0, "the rules API should answer 503 while PostgreSQL is away");
        assertTrue(longest <= REQUEST_BOUND_MILLIS, "a rules request took " + longest + " ms");
        assertTrue(backAfter >= 0 && backAfter <= RECOVERY_AIM_MILLIS, "the rules API was back " + backAfter + " ms after PostgreSQL");
    }

    @Test
    @Order(5)
    void threeAggregationInstancesWithOneKilledCountEveryEventOnce() throws Exception {
        fleet.start("aggregation-2", "aggregation-3");
        runFault("aggregation instances 2 and 3 joined, then instance 2 killed (kill -9) and its partitions rebalanced", () -> {
            pause(5_000);
            fleet.kill("aggregation-2");
        }, () -> {
            // Static membership: its partitions move once its session (15 s) expired.
            pause(16_000);
        });
    }

    @Test
    @Order(6)
    void aPausedAggregationInstanceResumedAfterItsSessionExpiredCannotUndoOrRepeatAnything() throws Exception {
        ServiceJar zombie = fleet.running.get("aggregation-3");
        Assumptions.assumeTrue(zombie != null, "runs after the three-instance test");
        runFault("aggregation instance paused (SIGSTOP) for 20 s, past its session timeout, then resumed (a zombie)", () -> {
            signal(zombie.process().pid(), "STOP");
            try {
                pause(20_000);
            } finally {
                signal(zombie.process().pid(), "CONT");
            }
        }, () -> pause(5_000));
    }

    @Test
    @Order(7)
    void aRedisMasterRestartedFromAnOlderSnapshotIsReadAgainFromWhereTheSnapshotEnds() throws Exception {
        RedisNodes.Node master = redis.masterOf(ruleKey(ruleId));
        String viewer = token(tenant, "viewer");
        long before = awaitStableCount(viewer);
        Traffic traffic = new Traffic(fleet, tenant, ruleId, UUID.randomUUID().toString().substring(0, 8)).start();
        try {
            pause(2_000);
            redis.save(master);
            long saved = count(viewer);
            // Flushes the snapshot does not hold, already committed to Kafka by the time the master dies.
            pause(4_000);
            long beforeKill = count(viewer);
            redis.kill(master);
            redis.restartDead();
            assertTrue(redis.nodes().stream().anyMatch(n -> n.port() == master.port() && n.master()),
                "the master was failed over instead of coming back from its snapshot: the scenario did not happen");
            pause(3_000);
            traffic.close();
            long expected = before + traffic.accepted();
            boolean exact = Deadline.in(Duration.ofSeconds(90)).await(() -> count(viewer) == expected, Duration.ofMillis(250));
            long counted = count(viewer);
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("counted at the snapshot", saved - before);
            report.put("counted when the master died", beforeKill - before);
            report.put("events acknowledged", traffic.accepted());
            report.put("events counted", counted - before);
            report.put("lost", Math.max(0, expected - counted));
            report.put("counted twice", Math.max(0, counted - expected));
            report.put("counter decreases seen (the snapshot is older: expected)", traffic.decreases().size());
            System.out.println("FAILOVER redis master restarted from an older snapshot (kill -9, back before its replica took over): " + report);
            assertTrue(beforeKill > saved, "nothing was counted after the snapshot: the scenario did not happen");
            assertTrue(exact, "expected " + expected + " events counted, found " + counted + ": " + report);
        } finally {
            traffic.close();
        }
    }

    private static void signal(long pid, String signal) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
        assertEquals(0, kill.waitFor(), "kill -" + signal + " " + pid);
    }

    /**
     * Runs traffic through {@code fault} (which returns once the infrastructure has recovered from the
     * client's point of view) and {@code afterwards}, then checks and reports what the clients saw.
     */
    private void runFault(String name, ThrowingRunnable fault, ThrowingRunnable afterwards) throws Exception {
        String viewer = token(tenant, "viewer");
        long before = awaitStableCount(viewer);
        Traffic traffic = new Traffic(fleet, tenant, ruleId, UUID.randomUUID().toString().substring(0, 8)).start();
        Map<String, Boolean> wentUnready = new ConcurrentHashMap<>();
        AtomicBoolean watching = new AtomicBoolean(true);
        Thread readiness = Thread.ofPlatform().start(() -> {
            while (watching.get()) {
                fleet.running.forEach((service, jar) -> {
                    if (!jar.isReady()) {
                        wentUnready.put(service, true);
                    }
                });
                pause(250);
            }
        });
        long recovered;
        long start;
        try {
            pause(2_000);
            start = System.currentTimeMillis();
            fault.run();
            recovered = System.currentTimeMillis();
            long subscriptionBack = awaitSubscription(viewer, recovered);
            afterwards.run();
            pause(3_000);
            traffic.close();
            watching.set(false);
            readiness.join();
            long expected = before + traffic.accepted();
            boolean exact = Deadline.in(Duration.ofSeconds(90)).await(() -> count(viewer) == expected, Duration.ofMillis(250));
            long counted = count(viewer);
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("fault lasted ms", recovered - start);
            report.put("longest ingest ms", traffic.longest("ingest", start));
            report.put("longest query ms", traffic.longest("query", start));
            report.put("ingest failures", traffic.failures("ingest", start));
            report.put("query failures", traffic.failures("query", start));
            report.put("ingest back after recovery ms", traffic.backAfter("ingest", recovered));
            report.put("query back after recovery ms", traffic.backAfter("query", recovered));
            report.put("subscription back after recovery ms", subscriptionBack);
            report.put("not ready meanwhile", new ArrayList<>(wentUnready.keySet()));
            report.put("events acknowledged", traffic.accepted());
            report.put("events counted", counted - before);
            report.put("lost", Math.max(0, expected - counted));
            report.put("counted twice", Math.max(0, counted - expected));
            report.put("counter decreases seen", traffic.decreases().size());
            System.out.println("FAILOVER " + name + ": " + report);

            assertTrue(exact, name + ": expected " + expected + " events counted, found " + counted);
            assertEquals(List.of(), traffic.decreases(), name + ": a reader saw the count go down");
            assertTrue(traffic.longest("ingest", start) <= REQUEST_BOUND_MILLIS, name + ": an ingest request hung: " + report);
            assertTrue(traffic.longest("query", start) <= REQUEST_BOUND_MILLIS, name + ": a query hung: " + report);
            for (String path : List.of("ingest", "query")) {
                long back = traffic.backAfter(path, recovered);
                assertTrue(back >= 0 && back <= RECOVERY_AIM_MILLIS, name + ": " + path + " back " + back + " ms after recovery: " + report);
            }
            assertTrue(subscriptionBack >= 0 && subscriptionBack <= RECOVERY_AIM_MILLIS, name + ": subscriptions: " + report);
            for (var service : fleet.running.entrySet()) {
                assertTrue(Deadline.in(Duration.ofSeconds(RECOVERY_AIM_MILLIS / 1000)).await(service.getValue()::isReady, Duration.ofMillis(200)),
                    name + ": " + service.getKey() + " is not ready again");
            }
        } finally {
            watching.set(false);
            traffic.close();
        }
    }

    /** How long after {@code recovered} a new subscription through the gateway got its snapshot, or -1. */
    private long awaitSubscription(String viewer, long recovered) {
        Deadline deadline = Deadline.in(Duration.ofSeconds(30));
        while (!deadline.passed()) {
            try (Socket socket = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), viewer, 0)) {
                socket.send("{\"op\":\"subscribe\",\"id\":\"s\",\"ruleId\":\"" + ruleId + "\"}");
                Map<String, Object> first = socket.next(Duration.ofSeconds(3));
                if ("snapshot".equals(first.get("type"))) {
                    return System.currentTimeMillis() - recovered;
                }
            } catch (Exception | AssertionError e) {
                // not back yet
            }
            pause(250);
        }
        return -1;
    }

    /** The count once it stopped moving (what earlier runs left behind). */
    private long awaitStableCount(String viewer) {
        long[] last = {-2};
        Deadline.in(Duration.ofSeconds(60)).await(() -> {
            long now = count(viewer);
            boolean stable = now >= 0 && now == last[0];
            last[0] = now;
            return stable;
        }, Duration.ofSeconds(1));
        return last[0];
    }

    private long count(String viewer) {
        try {
            HttpResponse<String> response = send("GET", fleet.gateway("/api/v1/rules/" + ruleId + "/results"), viewer, null);
            return response.statusCode() == 200 ? Traffic.total(response.body()) : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(HttpResponse<String> response) throws Exception {
        return JSON.readValue(response.body(), Map.class);
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }
}
