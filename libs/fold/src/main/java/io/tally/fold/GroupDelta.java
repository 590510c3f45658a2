package io.tally.fold;

import io.tally.model.Event;
import io.tally.rule.RuleSpec;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** What one batch adds to one group of one window of one rule, folded in memory before the flush. */
public final class GroupDelta {

    private long events;
    private final long[] counts;
    private final double[] sums;
    private final double[] mins;
    private final double[] maxs;
    // Raw values (String, Double, Boolean); encoded as JSON once per batch, not once per event.
    private final Set<Object>[] distinct;
    private final Map<Object, long[]>[] topk;

    @SuppressWarnings("unchecked")
    GroupDelta(int ops) {
        counts = new long[ops];
        sums = new double[ops];
        mins = new double[ops];
        maxs = new double[ops];
        Arrays.fill(mins, Double.POSITIVE_INFINITY);
        Arrays.fill(maxs, Double.NEGATIVE_INFINITY);
        distinct = new Set[ops];
        topk = new Map[ops];
    }

    /** Folds one event; returns how many values it added to distinct and topk aggregations (each a write of its own). */
    int add(Event e, RuleSpec.Aggregation[] ops) {
        events++;
        int added = 0;
        for (int i = 0; i < ops.length; i++) {
            RuleSpec.Aggregation op = ops[i];
            switch (op.kind()) {
                case COUNT, RATE -> counts[i]++;
                case SUM, AVG, MIN, MAX -> {
                    Double v = op.field().number(e);
                    if (v != null) {
                        counts[i]++;
                        sums[i] = saturatingAdd(sums[i], v);
                        mins[i] = Math.min(mins[i], v);
                        maxs[i] = Math.max(maxs[i], v);
                    }
                }
                case DISTINCT -> {
                    Object v = op.field().read(e);
                    if (v != null) {
                        if (distinct[i] == null) {
                            distinct[i] = new HashSet<>();
                        }
                        if (distinct[i].add(v)) {
                            added++;
                        }
                    }
                }
                case TOPK -> {
                    Object v = op.field().read(e);
                    if (v != null) {
                        if (topk[i] == null) {
                            topk[i] = new HashMap<>();
                        }
                        long[] n = topk[i].get(v);
                        if (n == null) {
                            topk[i].put(v, new long[] {1});
                            added++;
                        } else {
                            n[0]++;
                        }
                    }
                }
            }
        }
        return added;
    }

    /**
     * Adds what {@code other} folded of the same group and window (another partition's events), as if its events had
     * been folded here: counts and sums add up (sums held as {@link #saturatingAdd} holds them), extremes take the
     * lower and higher, distinct values and topk counts join. {@code other} is left as it was.
     */
    void absorb(GroupDelta other) {
        events += other.events;
        for (int i = 0; i < counts.length; i++) {
            counts[i] += other.counts[i];
            sums[i] = saturatingAdd(sums[i], other.sums[i]);
            mins[i] = Math.min(mins[i], other.mins[i]);
            maxs[i] = Math.max(maxs[i], other.maxs[i]);
            if (other.distinct[i] != null) {
                if (distinct[i] == null) {
                    distinct[i] = new HashSet<>(other.distinct[i]);
                } else {
                    distinct[i].addAll(other.distinct[i]);
                }
            }
            if (other.topk[i] != null) {
                if (topk[i] == null) {
                    topk[i] = new HashMap<>();
                }
                Map<Object, long[]> mine = topk[i];
                other.topk[i].forEach((value, n) -> mine.computeIfAbsent(value, v -> new long[1])[0] += n[0]);
            }
        }
    }

    /** The writes this group's distinct and topk values make in a script (one per value). */
    int valueCells() {
        int cells = 0;
        for (int i = 0; i < counts.length; i++) {
            cells += (distinct[i] == null ? 0 : distinct[i].size()) + (topk[i] == null ? 0 : topk[i].size());
        }
        return cells;
    }

    /**
     * {@code a + b}, held at ±{@link Double#MAX_VALUE} where it would overflow: a sum never becomes infinite (the
     * store could not take it, and the whole batch would fail for every tenant on the partition).
     */
    public static double saturatingAdd(double a, double b) {
        double sum = a + b;
        if (sum == Double.POSITIVE_INFINITY) {
            return Double.MAX_VALUE;
        }
        return sum == Double.NEGATIVE_INFINITY ? -Double.MAX_VALUE : sum;
    }

    /** Events in this group in this batch. */
    public long events() {
        return events;
    }

    /** Events counted by op {@code i} (for numeric ops: those with a number). */
    public long count(int i) {
        return counts[i];
    }

    public double sum(int i) {
        return sums[i];
    }

    public double min(int i) {
        return mins[i];
    }

    public double max(int i) {
        return maxs[i];
    }

    /** Distinct values of op {@code i}, as JSON texts. */
    public Set<String> distinctValues(int i) {
        if (distinct[i] == null) {
            return Set.of();
        }
        Set<String> json = new HashSet<>(distinct[i].size() * 2);
        distinct[i].forEach(v -> json.add(Json.value(v)));
        return json;
    }

    /** Counts per value of op {@code i}, values as JSON texts. */
    public Map<String, Long> topkCounts(int i) {
        if (topk[i] == null) {
            return Map.of();
        }
        Map<String, Long> json = new HashMap<>(topk[i].size() * 2);
        topk[i].forEach((v, n) -> json.put(Json.value(v), n[0]));
        return json;
    }
}
