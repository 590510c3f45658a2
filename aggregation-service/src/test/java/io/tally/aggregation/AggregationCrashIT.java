package io.tally.aggregation;

import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.tally.devstack.Deadline;
import io.tally.devstack.Ports;
import io.tally.devstack.StackConfig;
import io.tally.fold.DedupHorizon;
import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.StateKeys;
import io.tally.model.Topics;
import io.tally.rule.StoredFields;
import io.tally.testinfra.ServiceJar;
import io.tally.testinfra.TestStack;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The aggregation service in its own process, killed with SIGKILL several times mid-stream and
 * restarted: the final state equals a ground truth computed here, and no read ever went down.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AggregationCrashIT {

    private static final long WINDOW = 10_000;
    private static final long BASE = (System.currentTimeMillis() / WINDOW - 120) * WINDOW;
    private static final List<String> CATEGORIES = List.of("sports", "movies", "tickets", "music", "news", "games");
    private static final List<String> GEOS = List.of("US", "DE", "JP");

    private final StackConfig stack = TestStack.infrastructure();
    private final String tenant = "crash-" + UUID.randomUUID().toString().substring(0, 8);
    private final String ruleId = "r1";
    private final String group = "it-" + UUID.randomUUID();
    private final int port = Ports.findFreeRange(1, false);
    private RedisClusterClient redisClient;
    private StatefulRedisClusterConnection<String, String> redis;
    private KafkaProducer<String, byte[]> producer;
    private ServiceJar service;

    @BeforeAll
    void connect() {
        redisClient = RedisClusterClient.create(List.of(stack.redisUris().split(",")).stream().map(RedisURI::create).toList());
        redis = redisClient.connect();
        producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap(),
            ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.LINGER_MS_CONFIG, 5),
            new StringSerializer(), new ByteArraySerializer());
    }

    @AfterAll
    void close() {
        if (service != null) {
            service.close();
        }
        producer.close();
        redis.close();
        redisClient.shutdown();
    }

    private void startService() throws Exception {
        startService(Map.of());
    }

    private void startService(Map<String, String> extraEnv) throws Exception {
        Map<String, String> env = new HashMap<>(Map.of(
            "TALLY_KAFKA_BOOTSTRAP", stack.kafkaBootstrap(),
            "TALLY_REDIS_URIS", stack.redisUris(),
            "TALLY_AGGREGATION_PORT", Integer.toString(port),
            "TALLY_AGGREGATION_GROUP_ID", group,
            "TALLY_AGGREGATION_INSTANCE_ID", group,
            "TALLY_AGGREGATION_BATCH_EVENTS", "200",
            // Small scripts: every batch of the rule is applied in several parts, so kills land between parts too.
            "TALLY_AGGREGATION_SCRIPT_CELLS", "20"));
        env.putAll(extraEnv);
        service = ServiceJar.start(System.getProperty("tally.service.jar"), port, env, Path.of("target", "aggregation-crash-it.log"), true);
    }

    private void killService() throws Exception {
        service.kill();
    }

    private void publishRule() throws Exception {
        String rule = """
            {"tenant":"%s","id":"%s","version":1,"name":"crash","groupBy":["category","geo"],
             "aggregations":[{"name":"events","op":"count"},{"name":"total","op":"sum","field":"value"}],
             "window":{"size":"PT10S"},"allowedLateness":"PT30S","retention":"PT1H"}""".formatted(tenant, ruleId);
        try (KafkaProducer<String, String> rules = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()),
            new StringSerializer(), new StringSerializer())) {
            rules.send(new ProducerRecord<>(Topics.RULES, tenant + ":" + ruleId, rule)).get();
        }
    }

    /** Events over 3 minutes of event time, 10 % duplicates, ≤ 20 s disorder, and a few hour-old events. */
    private List<Event> stream(Random random) {
        List<Event> events = new ArrayList<>();
        List<Event> originals = new ArrayList<>();
        for (int i = 0; i < 6000; i++) {
            long time = BASE + i * 30L - random.nextInt(20_000);
            Event e = new Event(tenant, "e" + i, CATEGORIES.get(random.nextInt(CATEGORIES.size())), time, null,
                GEOS.get(random.nextInt(GEOS.size())), (double) random.nextInt(100), Map.of(), null);
            events.add(e);
            originals.add(e);
            if (random.nextInt(10) == 0) {
                // A retried send of one of the last 200 events (6 s of event time): within the rule's horizon. A copy
                // arriving after all its windows closed would count as late, not as a duplicate.
                events.add(originals.get(originals.size() - 1 - random.nextInt(Math.min(200, originals.size()))));
            }
            if (i > 1000 && i % 1000 == 0) {
                events.add(new Event(tenant, "old" + i, "sports", BASE - 3_600_000, null, "US", 1.0, Map.of(), null));
            }
        }
        return events;
    }

    private record Truth(Map<Long, Map<String, long[]>> windows, long late) {
    }

    /** The contract applied by hand: each id once; hour-old events late; others in their window. */
    private static Truth truth(List<Event> events) {
        Map<Long, Map<String, long[]>> windows = new TreeMap<>();
        Set<String> seen = new HashSet<>();
        long late = 0;
        for (Event e : events) {
            if (!seen.add(e.id())) {
                continue;
            }
            if (e.id().startsWith("old")) {
                late++;
                continue;
            }
            long start = Math.floorDiv(e.timeMillis(), WINDOW) * WINDOW;
            String group = "[\"" + e.category() + "\",\"" + e.geo() + "\"]";
            long[] counts = windows.computeIfAbsent(start, w -> new TreeMap<>()).computeIfAbsent(group, g -> new long[2]);
            counts[0]++;
            counts[1] += e.value().longValue();
        }
        return new Truth(windows, late);
    }

    private Map<Long, Map<String, long[]>> readState(Set<Long> starts) {
        Map<Long, Map<String, long[]>> state = new TreeMap<>();
        for (long start : starts) {
            Map<String, String> hash = redis.sync().hgetall(StateKeys.window(tenant, ruleId, 1, start));
            Map<String, long[]> groups = new TreeMap<>();
            hash.forEach((field, value) -> {
                if (field.charAt(0) == StateKeys.SEP) {
                    return; // the window's own bookkeeping (how many groups it holds), not a group
                }
                String[] parts = field.split(String.valueOf(StateKeys.SEP), -1);
                long[] counts = groups.computeIfAbsent(parts[0], g -> new long[2]);
                if (parts[1].equals(StoredFields.EVENTS)) {  // the group's event count, which its count reads
                    counts[0] = Long.parseLong(value);
                } else if (parts[1].equals("total")) {
                    counts[1] = (long) Double.parseDouble(value);
                }
            });
            if (!groups.isEmpty()) {
                state.put(start, groups);
            }
        }
        return state;
    }

    private static long total(Map<Long, Map<String, long[]>> state) {
        return state.values().stream().flatMap(g -> g.values().stream()).mapToLong(v -> v[0]).sum();
    }

    /** The ids of this tenant's events on the late-events topic, once there are {@code expected} distinct ones (or 30 s passed). */
    private Set<String> lateOnTopic(int expected) {
        Set<String> ids = new java.util.TreeSet<>();
        try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]>(Map.of(
            org.apache.kafka.clients.consumer.ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()),
            new org.apache.kafka.common.serialization.StringDeserializer(), new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            var partitions = consumer.partitionsFor(Topics.LATE_EVENTS).stream()
                .map(p -> new org.apache.kafka.common.TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Deadline.in(Duration.ofSeconds(30)).await(() -> {
                for (var record : consumer.poll(Duration.ofMillis(200))) {
                    Event e = EventCodec.decode(record.value());
                    if (e.tenant().equals(tenant)) {
                        ids.add(e.id());
                    }
                }
                return ids.size() >= expected;
            }, Duration.ofMillis(1));
        }
        return ids;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String describe(Map<Long, Map<String, long[]>> m) {
        StringBuilder out = new StringBuilder();
        m.forEach((w, g) -> g.forEach((k, v) -> out.append(w).append(' ').append(k).append('=').append(v[0]).append('/').append(v[1]).append('\n')));
        return out.toString();
    }

    @Test
    void survivesKillNineMidStreamWithEveryCounterExact() throws Exception {
        publishRule();
        startService();
        List<Event> events = stream(new Random(42));
        Truth truth = truth(events);
        Set<Long> starts = new HashSet<>(truth.windows().keySet());

        // A reader that polls all the time and remembers any counter that went down.
        AtomicBoolean reading = new AtomicBoolean(true);
        ConcurrentLinkedQueue<String> decreases = new ConcurrentLinkedQueue<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            Map<String, Long> last = new HashMap<>();
            while (reading.get()) {
                readState(starts).forEach((w, groups) -> groups.forEach((g, v) -> {
                    Long before = last.put(w + g, v[0]);
                    if (before != null && v[0] < before) {
                        decreases.add(w + " " + g + ": " + before + " -> " + v[0]);
                    }
                }));
            }
        });

        // Events arrive at a steady pace while instances die and restart.
        Thread sender = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < events.size(); i++) {
                Event e = events.get(i);
                producer.send(new ProducerRecord<>(Topics.EVENTS, e.partitionKey(), EventCodec.encode(e)));
                if (i % 200 == 199) {
                    producer.flush();
                    sleep(40);
                }
            }
            producer.flush();
        });

        // 1. The worst moment: right after a batch reached Redis, before its offsets were committed.
        service.kill();
        startService(Map.of("TALLY_AGGREGATION_HALT_AFTER_APPLY", "5"));
        assertTrue(service.process().waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the fault injection did not halt the service");
        assertEquals(137, service.process().exitValue());

        // 2. SIGKILL at random moments while the instance is visibly making progress.
        Random random = new Random(7);
        for (int kill = 0; kill < 2; kill++) {
            startService();
            long before = total(readState(starts));
            Deadline.in(Duration.ofSeconds(30)).await(() -> total(readState(starts)) > before, Duration.ofMillis(10));
            sleep(random.nextInt(300));
            killService();
        }
        sender.join();
        startService();

        boolean exact = Deadline.in(Duration.ofSeconds(90)).await(
            () -> describe(readState(starts)).equals(describe(truth.windows())), Duration.ofMillis(500));
        reading.set(false);
        reader.join();
        assertEquals(describe(truth.windows()), describe(readState(starts)), "windows differ from the ground truth");
        assertTrue(exact);
        String late = redis.sync().hget(StateKeys.meta(tenant, ruleId), "late");
        assertEquals(truth.late(), late == null ? 0 : Long.parseLong(late), "late events");
        // Every late event is on the late-events topic, although instances died between writing and publishing.
        Set<String> lateIds = new java.util.TreeSet<>();
        events.stream().filter(e -> e.id().startsWith("old")).forEach(e -> lateIds.add(e.id()));
        assertEquals(lateIds, lateOnTopic(lateIds.size()), "late events on " + Topics.LATE_EVENTS);
        assertEquals(List.of(), List.copyOf(decreases), "a reader saw a counter go down");
        // The dedup index is bounded: every id set it wrote expires.
        int dedupKeys = 0;
        for (int p = 0; p < io.tally.model.Topics.EVENT_PARTITIONS; p++) {
            // The rule's horizon (10 s windows, 30 s lateness) keeps ids in generations one minute wide.
            long width = DedupHorizon.widthFor(40_000);
            for (long g = Math.floorDiv(BASE - 7_200_000, width); g <= Math.floorDiv(System.currentTimeMillis() + 600_000, width); g++) {
                String key = StateKeys.dedup(p, tenant, width, g);
                long ttl = redis.sync().pttl(key);
                if (ttl != -2) {
                    dedupKeys++;
                    assertTrue(ttl > 0, key + " has no expiry");
                }
            }
        }
        assertTrue(dedupKeys > 0, "no dedup keys found");
        killService();
        service = null;
    }
}
