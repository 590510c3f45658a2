package io.tally.bench.flink;

import io.tally.model.Event;
import io.tally.model.EventCodec;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.accumulators.DoubleCounter;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.api.java.tuple.Tuple7;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The bench's hot rule as an Apache Flink job, in the setting most favourable to Flink (as Nexmark runs it): the
 * tenant's records of {@code tally.events} between two sets of offsets (a bounded Kafka source), event-time
 * watermarks with the rule's allowed lateness as the bound on disorder, dedup by id in keyed state, then per category
 * one-minute tumbling windows computing the rule's five aggregations (count, rate, sum, avg, max) into a discarding
 * sink. Exactly-once checkpoints every second to a local directory. Parallelism 2 (the machine's cores).
 * <p>
 * Arguments: bootstrap, tenant, topic, from ({@code partition:offset,...}), to (same), the result file, the checkpoint
 * directory. Writes {@code {"seconds", "counted", "revenue", "windows", "late"}}: the job's own runtime and, summed over
 * every window it emitted, the events counted and their revenue (what the bench compares with its ground truth).
 */
public final class FlinkBaseline {

    private FlinkBaseline() {
    }

    /** One event as the job carries it: id, category, event time, value. */
    private static final TypeInformation<Tuple4<String, String, Long, Double>> EVENT = Types.TUPLE(Types.STRING, Types.STRING, Types.LONG,
        Types.DOUBLE);

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String tenant = args[1];
        String topic = args[2];
        Map<TopicPartition, Long> from = offsets(topic, args[3]);
        Map<TopicPartition, Long> to = offsets(topic, args[4]);
        Path out = Path.of(args[5]);
        Configuration config = new Configuration();
        config.set(StateBackendOptions.STATE_BACKEND, "hashmap");
        config.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        config.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, Path.of(args[6]).toUri().toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config);
        env.setParallelism(2);
        env.enableCheckpointing(1_000, CheckpointingMode.EXACTLY_ONCE);

        KafkaSource<Tuple4<String, String, Long, Double>> source = KafkaSource.<Tuple4<String, String, Long, Double>>builder()
            .setBootstrapServers(bootstrap)
            .setTopics(topic)
            .setStartingOffsets(OffsetsInitializer.offsets(from))
            .setBounded(OffsetsInitializer.offsets(to))
            .setDeserializer(new Reader(tenant))
            .setProperty("isolation.level", "read_committed")
            .build();
        OutputTag<Tuple4<String, String, Long, Double>> late = new OutputTag<>("late", EVENT);
        SingleOutputStreamOperator<Tuple7<Long, String, Long, Double, Double, Double, Double>> windows = env
            .fromSource(source, WatermarkStrategy.<Tuple4<String, String, Long, Double>>forBoundedOutOfOrderness(Duration.ofSeconds(10))
                .withTimestampAssigner((e, timestamp) -> e.f2), "tally.events")
            .keyBy(e -> e.f0)
            .process(new Dedup()).returns(EVENT)
            .keyBy(e -> e.f1)
            .window(TumblingEventTimeWindows.of(Duration.ofMinutes(1)))
            .sideOutputLateData(late)
            .aggregate(new FiveAggregations(), new WithWindow());
        windows.map(new Totals()).returns(Types.LONG).sinkTo(new DiscardingSink<>());
        windows.getSideOutput(late).map(new CountLate()).returns(Types.LONG).sinkTo(new DiscardingSink<>());

        JobExecutionResult result = env.execute("tally hot rule (Flink baseline)");
        double seconds = result.getNetRuntime() / 1000.0;
        Files.writeString(out, "{\"seconds\": %s, \"counted\": %d, \"revenue\": %s, \"windows\": %d, \"late\": %d}%n".formatted(seconds,
            (long) result.getAccumulatorResult("counted"), (double) result.getAccumulatorResult("revenue"),
            (long) result.getAccumulatorResult("windows"), result.getAccumulatorResult("late") == null ? 0L : (long) result.getAccumulatorResult("late")));
    }

    private static Map<TopicPartition, Long> offsets(String topic, String text) {
        Map<TopicPartition, Long> offsets = new HashMap<>();
        for (String part : text.split(",")) {
            String[] po = part.split(":");
            offsets.put(new TopicPartition(topic, Integer.parseInt(po[0])), Long.parseLong(po[1]));
        }
        return offsets;
    }

    /** Decodes Tally's event records, keeping the tenant's. */
    private static final class Reader implements KafkaRecordDeserializationSchema<Tuple4<String, String, Long, Double>> {
        private final String tenant;

        Reader(String tenant) {
            this.tenant = tenant;
        }

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<Tuple4<String, String, Long, Double>> out) {
            Event e = EventCodec.decode(record.value());
            if (e.tenant().equals(tenant)) {
                out.collect(Tuple4.of(e.id(), e.category(), e.timeMillis(), e.value() == null ? Double.NaN : e.value()));
            }
        }

        @Override
        public TypeInformation<Tuple4<String, String, Long, Double>> getProducedType() {
            return EVENT;
        }
    }

    /** Passes an id's first event, drops its copies (state per id, kept ten minutes). */
    private static final class Dedup extends KeyedProcessFunction<String, Tuple4<String, String, Long, Double>, Tuple4<String, String, Long, Double>> {
        private transient ValueState<Boolean> seen;

        @Override
        public void open(OpenContext context) {
            ValueStateDescriptor<Boolean> descriptor = new ValueStateDescriptor<>("seen", Types.BOOLEAN);
            descriptor.enableTimeToLive(StateTtlConfig.newBuilder(Duration.ofMinutes(10)).build());
            seen = getRuntimeContext().getState(descriptor);
        }

        @Override
        public void processElement(Tuple4<String, String, Long, Double> e, Context context, Collector<Tuple4<String, String, Long, Double>> out)
            throws Exception {
            if (seen.value() == null) {
                seen.update(true);
                out.collect(e);
            }
        }
    }

    /** count, sum and max of a window's values; rate and avg follow from them. Accumulator: {count, sum, max, values}. */
    private static final class FiveAggregations implements AggregateFunction<Tuple4<String, String, Long, Double>, double[], double[]> {
        @Override
        public double[] createAccumulator() {
            return new double[] {0, 0, Double.NEGATIVE_INFINITY, 0};
        }

        @Override
        public double[] add(Tuple4<String, String, Long, Double> e, double[] a) {
            a[0]++;
            if (!Double.isNaN(e.f3)) {
                a[1] += e.f3;
                a[2] = Math.max(a[2], e.f3);
                a[3]++;
            }
            return a;
        }

        @Override
        public double[] getResult(double[] a) {
            return a;
        }

        @Override
        public double[] merge(double[] a, double[] b) {
            return new double[] {a[0] + b[0], a[1] + b[1], Math.max(a[2], b[2]), a[3] + b[3]};
        }
    }

    /** One window's result: start, category, count, rate, sum, avg, max. */
    private static final class WithWindow extends ProcessWindowFunction<double[], Tuple7<Long, String, Long, Double, Double, Double, Double>, String, TimeWindow> {
        @Override
        public void process(String category, Context context, Iterable<double[]> results, Collector<Tuple7<Long, String, Long, Double, Double, Double, Double>> out) {
            double[] a = results.iterator().next();
            long seconds = (context.window().getEnd() - context.window().getStart()) / 1000;
            out.collect(Tuple7.of(context.window().getStart(), category, (long) a[0], a[0] / seconds, a[1], a[3] == 0 ? Double.NaN : a[1] / a[3], a[2]));
        }
    }

    /** Adds each window's count and sum to the job's accumulators (what the bench checks). */
    private static final class Totals extends RichMapFunction<Tuple7<Long, String, Long, Double, Double, Double, Double>, Long> {
        private final LongCounter counted = new LongCounter();
        private final DoubleCounter revenue = new DoubleCounter();
        private final LongCounter windows = new LongCounter();

        @Override
        public void open(OpenContext context) {
            getRuntimeContext().addAccumulator("counted", counted);
            getRuntimeContext().addAccumulator("revenue", revenue);
            getRuntimeContext().addAccumulator("windows", windows);
        }

        @Override
        public Long map(Tuple7<Long, String, Long, Double, Double, Double, Double> w) {
            counted.add(w.f2);
            revenue.add(w.f4);
            windows.add(1);
            return w.f2;
        }
    }

    /** Counts the events too late for their window. */
    private static final class CountLate extends RichMapFunction<Tuple4<String, String, Long, Double>, Long> {
        private final LongCounter late = new LongCounter();

        @Override
        public void open(OpenContext context) {
            getRuntimeContext().addAccumulator("late", late);
        }

        @Override
        public Long map(Tuple4<String, String, Long, Double> e) {
            late.add(1);
            return 1L;
        }
    }
}
