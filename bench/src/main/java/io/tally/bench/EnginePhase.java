package io.tally.bench;

import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.tally.devstack.Deadline;
import io.tally.devstack.StackConfig;
import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.StateKeys;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import io.tally.rule.StoredFields;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static io.tally.bench.Bench.round2;
import static io.tally.bench.Bench.step;

/** The engine phase of the bench: the workload written to Kafka, the ceiling (a plain consumer), Tally and Kafka Streams timed over it, Tally's results checked. */
final class EnginePhase {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private EnginePhase() {
    }

    /** Publishes the tenant's rules (id → record as JSON), then writes the events. */
    static void write(StackConfig stack, String tenant, List<Event> events, Map<String, String> tenantRules) throws Exception {
        try (KafkaProducer<String, String> rules = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()),
            new StringSerializer(), new StringSerializer())) {
            for (Map.Entry<String, String> rule : tenantRules.entrySet()) {
                rules.send(new ProducerRecord<>(Topics.RULES, tenant + ":" + rule.getKey(), rule.getValue())).get();
            }
        }
        long t0 = TimeSource.SYSTEM.nanos();
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap(),
            ProducerConfig.LINGER_MS_CONFIG, 20, ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024, ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4",
            ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.BUFFER_MEMORY_CONFIG, 128L * 1024 * 1024), new StringSerializer(), new ByteArraySerializer())) {
            int i = 0;
            for (Event e : events) {
                // The record timestamp is the event time, so Kafka Streams windows by event time as Tally does.
                producer.send(new ProducerRecord<>(Topics.EVENTS, null, e.timeMillis(), e.partitionKey(), EventCodec.encode(e)));
                if (++i % 200_000 == 0) {
                    step(String.format("  written %,d of %,d", i, events.size()));
                }
            }
        }
        step(String.format("wrote %,d events to %s in %.1f s", events.size(), Topics.EVENTS, (TimeSource.SYSTEM.nanos() - t0) / 1e9));
    }

    static Map<TopicPartition, Long> ends(Admin admin, String topic) throws Exception {
        Map<TopicPartition, Long> end = new HashMap<>();
        Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
        admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions()
            .forEach(p -> ask.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
        admin.listOffsets(ask).all().get().forEach((p, info) -> end.put(p, info.offset()));
        return end;
    }

    /** A plain consumer reading this run's records and doing nothing else: the ceiling. */
    static double rawConsume(StackConfig stack, Map<TopicPartition, Long> from, Map<TopicPartition, Long> to) {
        Map<String, Object> props = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap(),
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000, ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 * 1024 * 1024,
            ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 * 1024 * 1024);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(from.keySet());
            from.forEach(consumer::seek);
            long total = to.values().stream().mapToLong(Long::longValue).sum() - from.values().stream().mapToLong(Long::longValue).sum();
            long read = 0;
            long t0 = TimeSource.SYSTEM.nanos();
            while (read < total) {
                read += consumer.poll(Duration.ofMillis(200)).count();
            }
            return total / ((TimeSource.SYSTEM.nanos() - t0) / 1e9);
        }
    }

    /**
     * Seconds from the group's first commit until its committed offsets reach the end of every
     * topic it reads ({@code topics} null: every topic it has offsets for, repartition topics included).
     */
    static double timeGroup(Admin admin, String group, Set<String> topics, String what) throws Exception {
        step("timing " + what + " ...");
        long[] first = {0};
        long[] lastReport = {TimeSource.SYSTEM.nanos()};
        boolean done = Deadline.in(Duration.ofMinutes(30)).await(() -> {
            try {
                Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
                if (committed.isEmpty()) {
                    return false;
                }
                if (first[0] == 0) {
                    first[0] = TimeSource.SYSTEM.nanos();
                }
                Set<String> reading = topics != null ? topics : committed.keySet().stream().map(TopicPartition::topic).collect(Collectors.toSet());
                long lag = 0;
                for (String topic : reading) {
                    for (Map.Entry<TopicPartition, Long> end : ends(admin, topic).entrySet()) {
                        OffsetAndMetadata c = committed.get(end.getKey());
                        lag += end.getValue() - (c == null ? 0 : c.offset());
                    }
                }
                if (TimeSource.SYSTEM.nanos() - lastReport[0] > 5_000_000_000L) {
                    step(String.format("  %s: %,d records behind", what, lag));
                    lastReport[0] = TimeSource.SYSTEM.nanos();
                }
                // With exactly-once, transaction markers occupy offsets: "caught up" allows one per partition.
                return lag <= committed.size();
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(50));
        if (!done) {
            throw new IllegalStateException(what + " did not catch up in 30 minutes");
        }
        return (TimeSource.SYSTEM.nanos() - first[0]) / 1e9;
    }

    /**
     * Compares Tally's stored trending counts and revenue counts/sums with the ground truth (a count is the group's event
     * count, {@link StoredFields}).
     */
    static String checkTally(StackConfig stack, String tenant, Truth truth) {
        RedisClusterClient client = RedisClusterClient.create(List.of(stack.redisUris().split(",")).stream().map(RedisURI::create).toList());
        try (var redis = client.connect()) {
            String sep = String.valueOf(StateKeys.SEP);
            for (Map.Entry<Long, Map<String, Long>> w : truth.trending.entrySet()) {
                Map<String, String> hash = redis.sync().hgetall(StateKeys.window(tenant, "trending", 1, w.getKey()));
                for (Map.Entry<String, Long> c : w.getValue().entrySet()) {
                    String stored = hash.get("[\"" + c.getKey() + "\"]" + sep + StoredFields.EVENTS);
                    if (stored == null || Long.parseLong(stored) != c.getValue()) {
                        return "WRONG (trending " + Instant.ofEpochMilli(w.getKey()) + " " + c.getKey() + ": " + stored + " != " + c.getValue() + ")";
                    }
                }
            }
            for (Map.Entry<Long, Map<String, double[]>> w : truth.revenue.entrySet()) {
                Map<String, String> hash = redis.sync().hgetall(StateKeys.window(tenant, "revenue", 1, w.getKey()));
                for (Map.Entry<String, double[]> g : w.getValue().entrySet()) {
                    String count = hash.get("[\"" + g.getKey() + "\"]" + sep + StoredFields.EVENTS);
                    String sum = hash.get("[\"" + g.getKey() + "\"]" + sep + "revenue");
                    if (count == null || Long.parseLong(count) != (long) g.getValue()[0]
                        || sum == null || Math.abs(Double.parseDouble(sum) - g.getValue()[1]) > 1e-6 * Math.max(1, g.getValue()[1])) {
                        return "WRONG (revenue " + Instant.ofEpochMilli(w.getKey()) + " " + g.getKey() + ")";
                    }
                }
            }
            String late = redis.sync().hget(StateKeys.meta(tenant, "trending"), "late");
            return late == null || late.equals("0") ? "EXACT" : "WRONG (" + late + " late events)";
        } finally {
            client.shutdown();
        }
    }

    /** The aggregation instance's own flush-phase timers: seconds spent per phase. */
    static Map<String, Object> flushPhases(int port) throws Exception {
        String metrics = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/prometheus")).build(),
            HttpResponse.BodyHandlers.ofString()).body();
        Map<String, Object> phases = new TreeMap<>();
        for (String line : metrics.split("\n")) {
            double value = line.startsWith("tally_aggregation_flush") || line.startsWith("tally_redis_script")
                ? Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)) : 0;
            if (line.startsWith("tally_aggregation_flush_phase_seconds_sum")) {
                int at = line.indexOf("phase=\"");
                phases.put(line.substring(at + 7, line.indexOf('"', at + 7)), round2(value));
            } else if (line.startsWith("tally_aggregation_flush_seconds_sum")) {
                // From each batch's cut to its flush complete (the time its events waited is not in it).
                phases.put("cutToComplete", round2(value));
            } else if (line.startsWith("tally_aggregation_flush_seconds_count")) {
                phases.put("flushes", value);
            } else if (line.startsWith("tally_redis_script_seconds_sum")) {
                // Each apply script from sent to answered (a flush's scripts run side by side, so these add up to more).
                phases.put("scriptLatencySum", round2(value));
            } else if (line.startsWith("tally_redis_script_seconds_count")) {
                phases.put("scripts", value);
            }
        }
        return phases;
    }
}
