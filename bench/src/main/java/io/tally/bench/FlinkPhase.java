package io.tally.bench;

import io.tally.devstack.StackConfig;
import io.tally.model.Topics;
import org.apache.kafka.common.TopicPartition;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static io.tally.bench.Bench.round2;
import static io.tally.bench.Bench.step;

/**
 * The Apache Flink baseline: the scale-out phase's hot rule as a Flink job ({@code bench-flink}), over the same records on
 * the same broker, in a JVM of its own (Flink's classpath and Kafka client stay apart). Its totals are compared with the
 * ground truth: every unique event counted once, their revenue summed.
 */
final class FlinkPhase {

    private FlinkPhase() {
    }

    static void run(StackConfig stack, Path root, Path logs, ScaleOutPhase.HotRecords hot, Map<String, Object> results) throws Exception {
        Path jar = root.resolve("bench-flink/target/tally-bench-flink.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build it with ./mvnw -B -DskipTests package -pl bench-flink -am");
        }
        Path out = Files.createTempFile("tally-flink", ".json");
        Path checkpoints = Files.createTempDirectory("tally-flink-checkpoints");
        String java = ProcessHandle.current().info().command().orElse("java");
        step("timing Apache Flink (parallelism 2, exactly-once checkpoints every second) ...");
        Process flink = new ProcessBuilder(java, "-Xmx1g", "-XX:+UseParallelGC", "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "-jar", jar.toString(), stack.kafkaBootstrap(), hot.tenant(), Topics.EVENTS, offsets(hot.from()), offsets(hot.to()), out.toString(),
            checkpoints.toString())
            .redirectErrorStream(true).redirectOutput(logs.resolve("flink.log").toFile()).start();
        try {
            if (!flink.waitFor(20, TimeUnit.MINUTES) || flink.exitValue() != 0) {
                throw new IllegalStateException("the Flink job failed (exit " + (flink.isAlive() ? "none: still running" : flink.exitValue())
                    + "); see " + logs.resolve("flink.log"));
            }
        } finally {
            flink.destroyForcibly();
            try (Stream<Path> files = Files.walk(checkpoints)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        String summary = Files.readString(out);
        Files.delete(out);
        double seconds = number(summary, "seconds");
        long counted = (long) number(summary, "counted");
        double revenue = number(summary, "revenue");
        boolean exact = counted == hot.unique() && Math.abs(revenue - hot.revenue()) <= 1e-6 * Math.max(1, hot.revenue()) && number(summary, "late") == 0;
        double rate = hot.records() / seconds;
        step(String.format("Apache Flink: %,.0f events/s (%,.1f s); counted %,d of %,d unique events, revenue %s: %s", rate, seconds, counted,
            hot.unique(), round2(revenue), exact ? "EXACT" : "WRONG"));
        results.put("flink.eventsPerSec", Math.round(rate));
        results.put("flink.exact", exact);
    }

    private static String offsets(Map<TopicPartition, Long> offsets) {
        return offsets.entrySet().stream().map(e -> e.getKey().partition() + ":" + e.getValue()).collect(Collectors.joining(","));
    }

    private static double number(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\": ([-0-9.eE]+)").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("the Flink job's summary has no " + name + ": " + json);
        }
        return Double.parseDouble(m.group(1));
    }
}
