package io.tally.aggregation.persistence;

import io.tally.fold.CombinedPart;
import io.tally.fold.CompiledRule;
import io.tally.fold.GroupDelta;
import io.tally.fold.RuleDelta;
import io.tally.model.StateKeys;
import io.tally.rule.RuleSpec;
import io.tally.rule.StoredFields;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * One call of {@code apply-rule-delta.lua}: a rule's delta encoded as opcodes ({@code i} add to a counter,
 * {@code f} add to a saturating sum, {@code <}/{@code >} keep the minimum/maximum, {@code H} add to a
 * HyperLogLog). Arguments are built as bytes: a batch has hundreds of thousands, and field names share parts.
 * {@code ApplyScriptTest} runs the encoding against the script on the real Redis Cluster.
 */
record ApplyScript(String[] keys, byte[][] args) {


    /**
     * The keys and arguments of {@code apply-rule-delta.lua} for one part of a rule's delta of one batch of one
     * partition ({@link RuleDelta.Part}: the script moves the fence from {@code expectedFence} to {@code lastOffset}), to
     * the rule shard whose keys carry {@code tag}, checking and moving the fence at {@code fenceKey}:
     * KEYS fence, meta, then the windows; ARGV partition, expected fence, the batch's last offset, late events,
     * meta lifetime, the finality mark folded with, the number of windows, the tenant's quota of groups per window
     * (0 for a rule without dimensions: it has one group), the overflow group, the distinct-key prefix, each
     * window's expiry, close time, start and number of groups, then the operations (one {@code G} per group, its writes
     * after it). A count, a rate and an average's sum beside a sum of its field are not written apart ({@link StoredFields})
     * unless {@code ownFields} (as versions before that layout wrote, for their readers during a rolling upgrade).
     */
    static ApplyScript encode(int partition, CompiledRule rule, String tag, String fenceKey, RuleDelta.Part delta, long expectedFence, long lastOffset,
                              long closedUpTo, int groupsPerWindow, boolean ownFields) {
        return encode(number(partition), number(expectedFence), number(lastOffset), rule, tag, fenceKey, delta.windows(), delta.lateEvents(),
            closedUpTo, groupsPerWindow, ownFields);
    }

    /**
     * As {@link #encode(int, CompiledRule, String, String, RuleDelta.Part, long, long, long, int, boolean)}, for the
     * deltas of several partitions folded together ({@link CombinedPart}): the partitions, their expected fences and the
     * offsets the script moves them to go as comma-separated lists in the first three arguments, in the same order.
     */
    static ApplyScript encode(CombinedPart combined, CompiledRule rule, String tag, String fenceKey, long closedUpTo, int groupsPerWindow,
                              boolean ownFields) {
        List<CombinedPart.Share> shares = combined.shares();
        return encode(list(shares, CombinedPart.Share::partition), list(shares, CombinedPart.Share::expectedFence), list(shares, CombinedPart.Share::end),
            rule, tag, fenceKey, combined.windows(), combined.lateEvents(), closedUpTo, groupsPerWindow, ownFields);
    }

    private static byte[] list(List<CombinedPart.Share> shares, ToLongFunction<CombinedPart.Share> field) {
        return shares.stream().map(s -> Long.toString(field.applyAsLong(s))).collect(Collectors.joining(",")).getBytes(StandardCharsets.US_ASCII);
    }

    private static ApplyScript encode(byte[] partitions, byte[] expectedFences, byte[] lastOffsets, CompiledRule rule, String tag, String fenceKey,
                                      Map<Long, Map<String, GroupDelta>> deltaWindows, long lateEvents, long closedUpTo, int groupsPerWindow,
                                      boolean ownFields) {
        List<String> windowKeys = new ArrayList<>();
        List<byte[]> expiries = new ArrayList<>();
        List<byte[]> closes = new ArrayList<>();
        List<byte[]> starts = new ArrayList<>();
        List<byte[]> groupCounts = new ArrayList<>();
        List<byte[]> ops = new ArrayList<>();
        RuleSpec.Aggregation[] aggregations = rule.ops();
        byte[][] names = new byte[aggregations.length][];
        boolean[] shared = new boolean[aggregations.length];
        List<RuleSpec.Aggregation> all = Arrays.asList(aggregations);
        for (int i = 0; i < aggregations.length; i++) {
            names[i] = utf8(aggregations[i].name());
            shared[i] = !ownFields && (StoredFields.isEventCount(aggregations[i]) || StoredFields.sumBeside(all, i) >= 0);
        }
        for (Map.Entry<Long, Map<String, GroupDelta>> w : deltaWindows.entrySet()) {
            long start = w.getKey();
            windowKeys.add(StateKeys.window(tag, rule.version(), start));
            expiries.add(number(rule.expiresAt(start)));
            closes.add(number(start + rule.windows().sizeMillis() + rule.latenessMillis()));
            starts.add(number(start));
            groupCounts.add(number(w.getValue().size()));
            byte[] window = number(windowKeys.size());
            for (Map.Entry<String, GroupDelta> g : w.getValue().entrySet()) {
                GroupDelta d = g.getValue();
                ops.add(OP_GROUP);
                ops.add(window);
                ops.add(utf8(g.getKey()));
                op(ops, OP_INCR, NONE, number(d.events()));
                for (int i = 0; i < aggregations.length; i++) {
                    RuleSpec.Aggregation agg = aggregations[i];
                    switch (agg.kind()) {
                        case COUNT, RATE -> {
                            if (!shared[i]) {
                                op(ops, OP_INCR, names[i], number(d.count(i)));
                            }
                        }
                        case SUM -> {
                            if (d.count(i) > 0) {
                                op(ops, OP_FLOAT, names[i], number(d.sum(i)));
                            }
                        }
                        case MIN -> {
                            if (d.count(i) > 0) {
                                op(ops, OP_MIN, names[i], number(d.min(i)));
                            }
                        }
                        case MAX -> {
                            if (d.count(i) > 0) {
                                op(ops, OP_MAX, names[i], number(d.max(i)));
                            }
                        }
                        case AVG -> {
                            if (d.count(i) > 0) {
                                if (!shared[i]) {
                                    op(ops, OP_FLOAT, concat(names[i], AVG_SUM), number(d.sum(i)));
                                }
                                op(ops, OP_INCR, concat(names[i], AVG_COUNT), number(d.count(i)));
                            }
                        }
                        case DISTINCT -> {
                            Set<String> values = d.distinctValues(i);
                            if (!values.isEmpty()) {
                                addToHll(ops, names[i], values);
                            }
                        }
                        case TOPK -> {
                            byte[] capacity = number(StateKeys.topkCapacity(agg.k()));
                            for (Map.Entry<String, Long> v : d.topkCounts(i).entrySet()) {
                                ops.add(OP_TOPK);
                                ops.add(names[i]);
                                ops.add(capacity);
                                ops.add(utf8(v.getKey()));
                                ops.add(number(v.getValue()));
                            }
                        }
                    }
                }
            }
        }
        String[] keys = new String[2 + windowKeys.size()];
        keys[0] = fenceKey;
        keys[1] = StateKeys.meta(tag);
        for (int i = 0; i < windowKeys.size(); i++) {
            keys[2 + i] = windowKeys.get(i);
        }
        int dimensions = rule.groupDimensions().size();
        List<byte[]> args = new ArrayList<>(10 + 4 * windowKeys.size() + ops.size());
        args.add(partitions);
        args.add(expectedFences);
        args.add(lastOffsets);
        args.add(number(lateEvents));
        args.add(number(rule.metaTtlMillis()));
        args.add(number(closedUpTo));
        args.add(number(windowKeys.size()));
        args.add(number(dimensions == 0 ? 0 : groupsPerWindow));
        args.add(utf8(otherGroup(dimensions)));
        args.add(utf8(StateKeys.distinctPrefix(tag, rule.version())));
        args.addAll(expiries);
        args.addAll(closes);
        args.addAll(starts);
        args.addAll(groupCounts);
        args.addAll(ops);
        return new ApplyScript(keys, args.toArray(byte[][]::new));
    }

    /** The group that takes a window's groups beyond the tenant's quota: {@code "__other__"} in every dimension. */
    static String otherGroup(int dimensions) {
        return Stream.generate(() -> "\"" + OTHER + "\"").limit(dimensions)
            .collect(Collectors.joining(",", "[", "]"));
    }

    /** The value every dimension of the overflow group shows. */
    static final String OTHER = "__other__";

    private static final byte[] OP_INCR = {'i'};
    private static final byte[] OP_FLOAT = {'f'};
    private static final byte[] OP_MIN = {'<'};
    private static final byte[] OP_MAX = {'>'};
    private static final byte[] OP_HLL = {'H'};
    private static final byte[] OP_GROUP = {'G'};
    private static final byte[] OP_TOPK = {'T'};

    private static final byte[] NONE = {};
    private static final byte[] AVG_SUM = utf8(StateKeys.SEP + "s");
    private static final byte[] AVG_COUNT = utf8(StateKeys.SEP + "n");

    private static byte[] number(long n) {
        return AsciiNumbers.of(n);
    }

    private static byte[] number(double n) {
        return Double.toString(n).getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** One PFADD per key with many values (at most {@value #HLL_CHUNK} per call: Lua's unpack has a stack limit). */
    private static void addToHll(List<byte[]> ops, byte[] aggregation, Collection<String> values) {
        List<byte[]> chunk = new ArrayList<>(Math.min(values.size(), HLL_CHUNK));
        for (String value : values) {
            chunk.add(utf8(value));
            if (chunk.size() == HLL_CHUNK) {
                hll(ops, aggregation, chunk);
            }
        }
        if (!chunk.isEmpty()) {
            hll(ops, aggregation, chunk);
        }
    }

    private static void hll(List<byte[]> ops, byte[] aggregation, List<byte[]> chunk) {
        ops.add(OP_HLL);
        ops.add(aggregation);
        ops.add(number(chunk.size()));
        ops.addAll(chunk);
        chunk.clear();
    }

    private static void op(List<byte[]> ops, byte[] op, byte[] field, byte[] value) {
        ops.add(op);
        ops.add(field);
        ops.add(value);
    }

    static final int HLL_CHUNK = 1000;

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
