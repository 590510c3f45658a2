package io.tally.bench;

import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.tally.devstack.Deadline;
import io.tally.devstack.Ports;
import io.tally.devstack.StackConfig;
import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.StateKeys;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import io.tally.rule.StoredFields;
import io.tally.testinfra.ServiceJar;
import io.tally.testinfra.TestStack;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * End-to-end engine throughput: Kafka (12 partitions) → one aggregation instance → Redis Cluster.
 * Writes N events straight to the topic first, then starts the aggregation service's jar and times it
 * from its first committed offset until its lag is zero; the counts in Redis must equal N.
 * Usage: java -cp bench/target/tally-benchmarks.jar io.tally.bench.EndToEndThroughput [events] [aggregation jar]
 */
public final class EndToEndThroughput {

    private EndToEndThroughput() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        String jar = args.length > 1 ? args[1] : "aggregation-service/target/aggregation-service.jar";
        StackConfig stack = TestStack.infrastructure();
        String tenant = "bench" + TimeSource.SYSTEM.millis() % 100000;
        String group = "bench-" + tenant;
        long windowMillis = 60_000;
        long base = (TimeSource.SYSTEM.millis() / windowMillis - 30) * windowMillis;

        try (KafkaProducer<String, String> rules = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()),
            new StringSerializer(), new StringSerializer())) {
            rules.send(new ProducerRecord<>(Topics.RULES, tenant + ":r", """
                {"tenant":"%s","id":"r","version":1,"groupBy":["category","geo"],
                 "aggregations":[{"name":"events","op":"count"},{"name":"revenue","op":"sum","field":"value"},
                   {"name":"mean","op":"avg","field":"value"},{"name":"users","op":"distinct","field":"attributes.user"},
                   {"name":"teams","op":"topk","field":"attributes.team","k":3}],
                 "window":{"size":"PT1M"},"allowedLateness":"PT1M","retention":"PT1H"}""".formatted(tenant))).get();
        }

        System.out.printf("writing %,d events to %s ...%n", n, Topics.EVENTS);
        long writeStart = TimeSource.SYSTEM.nanos();
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap(),
            ProducerConfig.LINGER_MS_CONFIG, 20, ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024, ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4",
            ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.BUFFER_MEMORY_CONFIG, 128L * 1024 * 1024), new StringSerializer(), new ByteArraySerializer())) {
            Random random = new Random(3);
            String[] geos = {"US", "DE", "JP", "BR"};
            for (int i = 0; i < n; i++) {
                int c = (int) Math.min(2999, Math.abs(random.nextGaussian()) * 300);
                Event e = new Event(tenant, "e" + i, "c" + c, base + (long) i * 1_500_000L / n - random.nextInt(10_000), null,
                    geos[random.nextInt(4)], random.nextInt(100) / 10.0, Map.of("user", "u" + random.nextInt(100_000), "team", "t" + random.nextInt(30)), null);
                producer.send(new ProducerRecord<>(Topics.EVENTS, e.partitionKey(), EventCodec.encode(e)));
            }
        }
        System.out.printf("written in %.1f s%n", (TimeSource.SYSTEM.nanos() - writeStart) / 1e9);

        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()))) {
            Set<TopicPartition> partitions = IntStream.range(0, Topics.EVENT_PARTITIONS).mapToObj(p -> new TopicPartition(Topics.EVENTS, p)).collect(Collectors.toSet());
            Map<TopicPartition, Long> end = new HashMap<>();
            admin.listOffsets(partitions.stream().collect(Collectors.toMap(p -> p, p -> OffsetSpec.latest()))).all().get()
                .forEach((p, info) -> end.put(p, info.offset()));
            // The aggregation group starts at the beginning of the topic; what other runs wrote before counts as backlog too.
            long backlog = end.values().stream().mapToLong(Long::longValue).sum();

            int port = Ports.findFreeRange(1, false);
            Path log = Path.of(System.getProperty("java.io.tmpdir"), "tally-bench-aggregation.log");
            System.out.println("aggregation instance log: " + log);
            ServiceJar aggregation = ServiceJar.start(jar, port, Map.of("TALLY_KAFKA_BOOTSTRAP", stack.kafkaBootstrap(),
                "TALLY_REDIS_URIS", stack.redisUris(), "TALLY_AGGREGATION_PORT", Integer.toString(port),
                "TALLY_AGGREGATION_GROUP_ID", group, "TALLY_AGGREGATION_INSTANCE_ID", group), log, false, Bench.aggregationJvm());
            try {
                long[] firstCommit = {0};
                long[] committed = {0};
                boolean done = Deadline.in(Duration.ofMinutes(15)).await(() -> {
                    try {
                        Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
                        committed[0] = offsets.values().stream().mapToLong(o -> o == null ? 0 : o.offset()).sum();
                        if (committed[0] > 0 && firstCommit[0] == 0) {
                            firstCommit[0] = TimeSource.SYSTEM.nanos();
                        }
                        return committed[0] >= backlog;
                    } catch (Exception e) {
                        return false;
                    }
                }, Duration.ofMillis(20));
                long doneAt = TimeSource.SYSTEM.nanos();
                if (!done) {
                    throw new IllegalStateException("the aggregation did not catch up; see " + log);
                }
                double seconds = (doneAt - firstCommit[0]) / 1e9;
                System.out.printf("aggregated %,d events (%,d backlog) in %.2f s after the first commit: %,.0f events/s%n",
                    n, backlog, seconds, backlog / seconds);
                // Where the time went, from the instance's own flush-phase timers.
                String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/prometheus")).build(), HttpResponse.BodyHandlers.ofString()).body();
                metrics.lines().filter(l -> l.startsWith("tally_aggregation_flush") && (l.contains("_sum") || l.contains("_count")))
                    .forEach(l -> System.out.println("  " + l));
            } finally {
                aggregation.close();
            }
        }

        RedisClusterClient client = RedisClusterClient.create(List.of(stack.redisUris().split(",")).stream().map(RedisURI::create).toList());
        try (var redis = client.connect()) {
            long total = 0;
            for (long w = base - 120_000; w < base + 1_700_000; w += windowMillis) {
                for (var field : redis.sync().hgetall(StateKeys.window(tenant, "r", 1, w)).entrySet()) {
                    if (field.getKey().endsWith(StateKeys.SEP + StoredFields.EVENTS)) {  // the group's event count: its count
                        total += Long.parseLong(field.getValue());
                    }
                }
            }
            String late = redis.sync().hget(StateKeys.meta(tenant, "r"), "late");
            long lateCount = late == null ? 0 : Long.parseLong(late);
            System.out.printf("exactness: counted %,d + late %,d = %,d of %,d events: %s%n", total, lateCount, total + lateCount, n,
                total + lateCount == n ? "EXACT" : "WRONG");
        } finally {
            client.shutdown();
        }
        System.exit(0);
    }
}
