package io.tally.aggregation.persistence;

import io.tally.aggregation.domain.CompiledRule;
import io.tally.aggregation.domain.GroupDelta;
import io.tally.aggregation.domain.RuleDelta;
import io.tally.model.StateKeys;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One call of {@code apply-rule-delta.lua}: a rule's delta encoded as opcodes ({@code i} add to a counter,
 * {@code f} add to a saturating sum, {@code <}/{@code >} keep the minimum/maximum, {@code H} add to a
 * HyperLogLog). Arguments are built as bytes: a batch has hundreds of thousands, and field names share parts.
 * {@code ApplyScriptTest} runs the encoding against the script on the real Redis Cluster.
 */
record ApplyScript(String[] keys, byte[][] args) {


    /**
     * The keys and arguments of {@code apply-rule-delta.lua} for one rule's delta of one batch of one partition:
     * KEYS fence, meta, then the state keys; ARGV partition, expected fence, the batch's last offset, late events,
     * meta lifetime, the finality mark folded with, the number of state keys, each key's expiry, close time and
     * type, then the operations.
     */
    static ApplyScript encode(int partition, RuleDelta delta, long expectedFence, long lastOffset, long closedUpTo) {
        CompiledRule rule = delta.rule();
        String tenant = rule.tenant();
        String id = rule.id();
        StateKeyTable table = new StateKeyTable();
        // Arguments are built as bytes: a batch has hundreds of thousands, and field names share parts.
        List<byte[]> ops = new ArrayList<>();
        CompiledRule.Op[] aggregations = rule.ops();
        byte[][] names = new byte[aggregations.length][];
        for (int i = 0; i < aggregations.length; i++) {
            names[i] = utf8(aggregations[i].name());
        }
        for (Map.Entry<Long, Map<String, GroupDelta>> w : delta.windows().entrySet()) {
            long start = w.getKey();
            long expireAt = rule.expiresAt(start);
            long closeAt = start + rule.windows().sizeMillis() + rule.latenessMillis();
            byte[] windowKey = number(table.index(StateKeys.window(tenant, id, rule.version(), start), expireAt, closeAt, HASH));
            for (Map.Entry<String, GroupDelta> g : w.getValue().entrySet()) {
                String group = g.getKey();
                GroupDelta d = g.getValue();
                byte[] prefix = utf8(group + StateKeys.SEP);
                ops(ops, OP_INCR, windowKey, prefix, number(d.events()));
                for (int i = 0; i < aggregations.length; i++) {
                    CompiledRule.Op agg = aggregations[i];
                    switch (agg.kind()) {
                        case COUNT, RATE -> ops(ops, OP_INCR, windowKey, concat(prefix, names[i], NONE), number(d.count(i)));
                        case SUM -> {
                            if (d.count(i) > 0) {
                                ops(ops, OP_FLOAT, windowKey, concat(prefix, names[i], NONE), number(d.sum(i)));
                            }
                        }
                        case MIN -> {
                            if (d.count(i) > 0) {
                                ops(ops, OP_MIN, windowKey, concat(prefix, names[i], NONE), number(d.min(i)));
                            }
                        }
                        case MAX -> {
                            if (d.count(i) > 0) {
                                ops(ops, OP_MAX, windowKey, concat(prefix, names[i], NONE), number(d.max(i)));
                            }
                        }
                        case AVG -> {
                            if (d.count(i) > 0) {
                                ops(ops, OP_FLOAT, windowKey, concat(prefix, names[i], AVG_SUM), number(d.sum(i)));
                                ops(ops, OP_INCR, windowKey, concat(prefix, names[i], AVG_COUNT), number(d.count(i)));
                            }
                        }
                        case DISTINCT -> {
                            java.util.Set<String> values = d.distinctValues(i);
                            if (!values.isEmpty()) {
                                int hll = table.index(StateKeys.distinct(tenant, id, rule.version(), start, group, agg.name()), expireAt, closeAt, HLL);
                                addToHll(ops, number(hll), values);
                            }
                        }
                        case TOPK -> {
                            for (Map.Entry<String, Long> v : d.topkCounts(i).entrySet()) {
                                ops(ops, OP_INCR, windowKey, concat(prefix, names[i], utf8(StateKeys.SEP + v.getKey())), number(v.getValue()));
                            }
                        }
                    }
                }
            }
        }
        String[] keys = new String[2 + table.keys.size()];
        keys[0] = StateKeys.fence(tenant, id);
        keys[1] = StateKeys.meta(tenant, id);
        for (int i = 0; i < table.keys.size(); i++) {
            keys[2 + i] = table.keys.get(i);
        }
        List<byte[]> args = new ArrayList<>(7 + 3 * table.keys.size() + ops.size());
        args.add(number(partition));
        args.add(number(expectedFence));
        args.add(number(lastOffset));
        args.add(number(delta.lateEvents()));
        args.add(number(rule.metaTtlMillis()));
        args.add(number(closedUpTo));
        args.add(number(table.keys.size()));
        args.addAll(table.expiries);
        args.addAll(table.closes);
        args.addAll(table.types);
        args.addAll(ops);
        return new ApplyScript(keys, args.toArray(byte[][]::new));
    }

    private static final byte[] OP_INCR = {'i'};
    private static final byte[] OP_FLOAT = {'f'};
    private static final byte[] OP_MIN = {'<'};
    private static final byte[] OP_MAX = {'>'};
    private static final byte[] OP_HLL = {'H'};
    private static final byte[] NONE = {};
    private static final byte[] HASH = {'h'};
    private static final byte[] HLL = {'s'};
    private static final byte[] AVG_SUM = utf8(StateKeys.SEP + "s");
    private static final byte[] AVG_COUNT = utf8(StateKeys.SEP + "n");

    private static byte[] number(long n) {
        return Long.toString(n).getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] number(double n) {
        return Double.toString(n).getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] concat(byte[] a, byte[] b, byte[] c) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length + c.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        System.arraycopy(c, 0, out, a.length + b.length, c.length);
        return out;
    }

    /** The state keys of one script, numbered from 1, each with its expiry, its window's close time and its type. */
    private static final class StateKeyTable {
        final List<String> keys = new ArrayList<>();
        final List<byte[]> expiries = new ArrayList<>();
        final List<byte[]> closes = new ArrayList<>();
        final List<byte[]> types = new ArrayList<>();
        private final Map<String, Integer> numbers = new HashMap<>();

        int index(String key, long expireAt, long closeAt, byte[] type) {
            return numbers.computeIfAbsent(key, k -> {
                keys.add(k);
                expiries.add(number(expireAt));
                closes.add(number(closeAt));
                types.add(type);
                return keys.size();
            });
        }
    }

    /** One PFADD per key with many values (at most {@value #HLL_CHUNK} per call: Lua's unpack has a stack limit). */
    private static void addToHll(List<byte[]> ops, byte[] key, java.util.Collection<String> values) {
        List<byte[]> chunk = new ArrayList<>(Math.min(values.size(), HLL_CHUNK));
        for (String value : values) {
            chunk.add(utf8(value));
            if (chunk.size() == HLL_CHUNK) {
                hll(ops, key, chunk);
            }
        }
        if (!chunk.isEmpty()) {
            hll(ops, key, chunk);
        }
    }

    private static void hll(List<byte[]> ops, byte[] key, List<byte[]> chunk) {
        ops.add(OP_HLL);
        ops.add(key);
        ops.add(number(chunk.size()));
        ops.addAll(chunk);
        chunk.clear();
    }

    private static void ops(List<byte[]> ops, byte[] op, byte[] key, byte[] field, byte[] value) {
        ops.add(op);
        ops.add(key);
        ops.add(field);
        ops.add(value);
    }

    static final int HLL_CHUNK = 1000;

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
