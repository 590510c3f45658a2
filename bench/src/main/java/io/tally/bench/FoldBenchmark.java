package io.tally.bench;

import io.tally.fold.CompiledRule;
import io.tally.fold.DedupIndex;
import io.tally.fold.PartitionFold;
import io.tally.fold.PartitionState;
import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.RuleRecord;
import io.tally.model.TimeSource;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The in-process hot path of the aggregation engine, one micro-batch at a time: folding events into
 * per-rule deltas for a rule with five aggregations (parse excluded), and decoding the wire format.
 * Scores are events per second on one thread.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx1g", "-XX:+UseParallelGC"})
public class FoldBenchmark {

    static final int BATCH = 5000;

    private Event[] events;
    private byte[][] encoded;
    private List<CompiledRule> rules;

    @Setup
    public void setUp() {
        Random random = new Random(1);
        long base = 1_795_000_000_000L;
        String[] categories = new String[1000];
        for (int i = 0; i < categories.length; i++) {
            categories[i] = "category-" + i;
        }
        String[] geos = {"US", "US-CA", "DE", "JP", "BR", "IN"};
        events = new Event[BATCH];
        encoded = new byte[BATCH][];
        for (int i = 0; i < BATCH; i++) {
            // Zipf-like skew: a few categories get most events.
            int c = (int) Math.min(categories.length - 1, Math.abs(random.nextGaussian()) * 40);
            events[i] = new Event("acme", "e" + i, categories[c], base + i * 10L - random.nextInt(5000), "score",
                geos[random.nextInt(geos.length)], random.nextInt(1000) / 10.0,
                Map.of("user", "u" + random.nextInt(50_000), "team", "team-" + random.nextInt(30)), "feed");
            encoded[i] = EventCodec.encode(events[i]);
        }
        rules = List.of(CompiledRule.compile(new RuleRecord("acme", "r", 1, "bench", null, List.of("category", "geo"),
            List.of(new RuleRecord.Aggregation("events", "count", null, null),
                new RuleRecord.Aggregation("revenue", "sum", "value", null),
                new RuleRecord.Aggregation("mean", "avg", "value", null),
                new RuleRecord.Aggregation("users", "distinct", "attributes.user", null),
                new RuleRecord.Aggregation("teams", "topk", "attributes.team", 3)),
            new RuleRecord.Window("PT1M", null), "PT30S", "PT24H")));
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public PartitionFold foldFiveAggregations() {
        PartitionFold fold = new PartitionFold(0, new PartitionState(), TimeSource.SYSTEM.millis());
        for (int i = 0; i < BATCH; i++) {
            fold.add(i, events[i], DedupIndex.NONE, tenant -> rules);
        }
        return fold;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void decodeWireFormat(Blackhole sink) {
        for (byte[] bytes : encoded) {
            sink.consume(EventCodec.decode(bytes));
        }
    }
}
