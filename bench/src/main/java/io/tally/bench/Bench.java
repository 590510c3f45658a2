package io.tally.bench;

import com.sun.management.OperatingSystemMXBean;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.tally.devstack.Ports;
import io.tally.devstack.StackConfig;
import io.tally.model.Event;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import io.tally.testinfra.ServiceJar;
import io.tally.testinfra.TestStack;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.TopicPartition;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code ./tally bench [--quick]}: one generated workload on one broker, measured four ways —
 * the ceiling (a plain consumer), Tally (one aggregation instance, results checked exact), the same
 * job in Kafka Streams, and through the gateway freshness and query latency while ingesting.
 * Writes bench/results/latest.json, latest.md and latest.png.
 */
public final class Bench {

    private Bench() {
    }

    public static void main(String[] args) throws Exception {
        boolean quick = List.of(args).contains("--quick");
        // --scale-out: only the scale-out phase and the Flink baseline (the engine and live phases take most of a run).
        boolean scaleOutOnly = List.of(args).contains("--scale-out");
        Path root = Path.of(System.getProperty("tally.root", "."));
        Workload.Params params = new Workload.Params(42, quick ? 400_000 : 2_000_000, 3_000, 1.1, 0.10, 0.05, 4_000,
            quick ? 20 * 60_000L : 40 * 60_000L, 100_000, 30);
        Map<String, Object> results = new LinkedHashMap<>();
        long started = TimeSource.SYSTEM.millis();
        step("workload: " + params.asMap());
        StackConfig stack = TestStack.infrastructure();
        String run = Long.toString(TimeSource.SYSTEM.millis() % 1_000_000, 36);
        String tenant = "bench-" + run;
        long windowMillis = 60_000;
        long start = (TimeSource.SYSTEM.millis() - params.spanMillis() - 10 * windowMillis) / windowMillis * windowMillis;
        List<Event> events = Workload.generate(params, tenant, start);
        Truth truth = Truth.of(events);
        step(String.format("generated %,d events (%,d unique ids, %,d categories seen)", events.size(), truth.unique, truth.trending.values().stream()
            .flatMap(m -> m.keySet().stream()).distinct().count()));

        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()))) {
            Path logs = Files.createDirectories(root.resolve("bench/results/logs"));
            if (!scaleOutOnly) {
                engineAndLive(stack, root, logs, admin, tenant, events, truth, run, results, quick);
            }
            // Alone on the machine: every other service is stopped.
            Workload.Params hot = new Workload.Params(43, quick ? 800_000 : 3_000_000, params.categories(), params.zipfExponent(), params.hotShare(),
                params.duplicateShare(), params.disorderMillis(), params.spanMillis(), params.users(), params.teams());
            step(String.format("scale-out: one hot rule over %,d events, applied by 1, 2 and 3 aggregation instances in turn ...", hot.events()));
            try {
                int instances = List.of(args).contains("--instances") ? Integer.parseInt(args[List.of(args).indexOf("--instances") + 1]) : 3;
                ScaleOutPhase.HotRecords records = ScaleOutPhase.run(stack, root, logs, admin, hot, run, results, instances);
                FlinkPhase.run(stack, root, logs, records, results);
                if (results.get("scaleOut.runs") instanceof List<?> runs && !runs.isEmpty() && runs.getFirst() instanceof Map<?, ?> one) {
                    results.put("ratioVsFlink", round2(((Number) one.get("eventsPerSec")).doubleValue()
                        / ((Number) results.get("flink.eventsPerSec")).doubleValue()));
                }
            } catch (Exception e) {
                step("the scale-out phase failed (its results so far are kept): " + e);
                results.put("scaleOut.error", e.toString());
            }
        }
        results.put("workload", params.asMap());
        Map<String, Object> machine = new LinkedHashMap<>();
        machine.put("cores", Runtime.getRuntime().availableProcessors());
        machine.put("memoryGiB", Math.round(((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getTotalMemorySize() / 1073741824.0));
        machine.put("jdk", System.getProperty("java.vendor") + " " + System.getProperty("java.version"));
        results.put("machine", machine);
        results.put("date", TimeSource.SYSTEM.instant().toString());
        results.put("mode", quick ? "quick" : "full");
        results.put("elapsedSeconds", (TimeSource.SYSTEM.millis() - started) / 1000);
        Path out = Files.createDirectories(root.resolve("bench/results"));
        Report.write(out, results);
        step("results: " + out.resolve("latest.json") + ", latest.md, latest.png");
        System.exit(0);
    }


    /** The engine phase (raw consume, Tally, Kafka Streams over the mixed workload) and the live phase through the gateway. */
    private static void engineAndLive(StackConfig stack, Path root, Path logs, Admin admin, String tenant, List<Event> events, Truth truth,
                                  String run, Map<String, Object> results, boolean quick) throws Exception {
        Map<TopicPartition, Long> before = EnginePhase.ends(admin, Topics.EVENTS);
        EnginePhase.write(stack, tenant, events, Workload.rules(tenant));
        Map<TopicPartition, Long> after = EnginePhase.ends(admin, Topics.EVENTS);

        double raw = EnginePhase.rawConsume(stack, before, after);
        step(String.format("raw consume: %,.0f events/s", raw));
        results.put("rawConsume.eventsPerSec", Math.round(raw));

        int aggregationPort = Ports.findFreeRange(1, false);
        String group = "bench-" + run;
        String aggregationJar = root.resolve("aggregation-service/target/aggregation-service.jar").toString();
        long backlog = after.values().stream().mapToLong(Long::longValue).sum();
        // The aggregation group starts at the beginning: earlier runs' records are backlog too, and count in the rate.
        ServiceJar aggregation = ServiceJar.start(aggregationJar, aggregationPort, Map.of("TALLY_KAFKA_BOOTSTRAP", stack.kafkaBootstrap(),
            "TALLY_REDIS_URIS", stack.redisUris(), "TALLY_AGGREGATION_PORT", Integer.toString(aggregationPort),
            "TALLY_AGGREGATION_GROUP_ID", group, "TALLY_AGGREGATION_INSTANCE_ID", group), logs.resolve("aggregation.log"), false,
            aggregationJvm());
        List<ServiceJar> services = new ArrayList<>(List.of(aggregation));
        RedisClusterClient redisClient = RedisClusterClient.create(List.of(stack.redisUris().split(",")).stream().map(RedisURI::create).toList());
        try (StatefulRedisClusterConnection<String, String> redis = redisClient.connect()) {
            Map<String, ScaleOutPhase.NodeStats> redisBefore = ScaleOutPhase.nodeStats(redis);
            double tally = EnginePhase.timeGroup(admin, group, Set.of(Topics.EVENTS), "Tally (1 aggregation instance)");
            Map<String, Object> byCommand = ScaleOutPhase.commandSecondsPerMillion(redisBefore, ScaleOutPhase.nodeStats(redis), backlog);
            results.put("tally.redisCommandSecondsPerMillionEvents", byCommand);
            double tallyRate = backlog / tally;
            String exact = EnginePhase.checkTally(stack, tenant, truth);
            step(String.format("Tally: %,.0f events/s over %,d records; results %s", tallyRate, backlog, exact));
            results.put("tally.eventsPerSec", Math.round(tallyRate));
            Map<String, Object> phases = EnginePhase.flushPhases(aggregationPort);
            results.put("tally.flushSecondsByPhase", phases);
            step("  where the aggregation's time went (s per flush phase): " + phases);
            step("  where Redis's time went (command seconds per million events): " + byCommand);
            results.put("tally.exact", exact.equals("EXACT"));

            Path state = Files.createTempDirectory("tally-kstreams");
            double ksRate;
            try (StreamsBaseline streams = new StreamsBaseline(stack.kafkaBootstrap(), tenant, state)) {
                streams.start();
                double seconds = EnginePhase.timeGroup(admin, streams.applicationId, null, "Kafka Streams (exactly_once_v2, 2 threads)");
                ksRate = backlog / seconds;
                long counted = streams.countedByTrending();
                step(String.format("Kafka Streams: %,.0f events/s; trending counted %,d of %,d unique events", ksRate, counted, truth.unique));
                results.put("kafkaStreams.eventsPerSec", Math.round(ksRate));
                results.put("kafkaStreams.exact", counted == truth.unique);
            }
            results.put("ratioVsKafkaStreams", round2(tallyRate / ksRate));
            results.put("fractionOfRawConsume", round2(tallyRate / raw));

            LivePhase.live(stack, root, logs, services, results, quick);
        } finally {
            services.forEach(ServiceJar::close);
            redisClient.shutdown();
        }
    }

    static void step(String message) {
        System.out.printf("[%s] %s%n", TimeSource.SYSTEM.instant().toString().substring(11, 19), message);
    }

    /**
     * The JVM options of the aggregation instances the benchmark starts: {@code TALLY_BENCH_AGGREGATION_JVM} (split at
     * spaces), by default a 1 GiB heap (as the Flink baseline's) with the parallel collector and most of it young: a
     * batch's records, folds and scripts live while the next one is read, and a small young generation copies them from
     * collection to collection (with a 95 MB eden: 44 young collections, 3.1 s of pauses in a 12 s run); and room for
     * the classes it loads, whose default threshold (~21 MB) set off full collections of up to 106 ms while it ran.
     */
    static String[] aggregationJvm() {
        String options = System.getenv().getOrDefault("TALLY_BENCH_AGGREGATION_JVM", "-Xms1g -Xmx1g -Xmn640m -XX:+UseParallelGC -XX:MetaspaceSize=128m").strip();
        return options.isEmpty() ? new String[0] : options.split("\\s+");
    }

    static double round2(double v) {
        return Math.round(v * 100) / 100.0;
    }

    static double pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p / 100 * sorted.length) - 1))];
    }
}
