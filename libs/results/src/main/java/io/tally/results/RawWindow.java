package io.tally.results;

import io.tally.model.StateKeys;
import io.tally.rule.Op;
import io.tally.rule.RuleSpec;

import java.util.HashMap;
import java.util.Map;

/**
 * One window's stored state: the hash of counters ({@code io.tally.model.StateKeys#window}) and the
 * cardinality of each distinct aggregation, keyed by {@code groupJson SEP aggregation} (and, keyed
 * {@code SEP of}, how many groups beyond the tenant's quota were counted in {@code __other__}).
 */
public record RawWindow(long start, Map<String, String> fields, Map<String, Long> distinct) {

    static final String OVERFLOW = StateKeys.SEP + "of";

    /** Values this window holds: counters, sums, distinct counts and topk entries. */
    public long values() {
        return fields.size() + distinct.size();
    }

    /**
     * This window and the same window of another shard of the rule as one. Shards hold different groups, so most fields
     * are in one of them only; what both hold is combined as the rule's aggregation combines: the group counts, event
     * counts, counts, rates, sums, averages' parts and topk counters add up, minimums and maximums take the lower and
     * higher. Only {@code __other__} (groups beyond a shard's share of the tenant's quota) is in several shards: its
     * distinct counts add up (an upper bound: a value seen in two shards' overflow counts twice).
     */
    public RawWindow merge(RawWindow other, RuleSpec rule) {
        Map<String, String> mergedFields = new HashMap<>(fields);
        other.fields.forEach((field, value) -> mergedFields.merge(field, value, (a, b) -> combine(field, a, b, rule)));
        Map<String, Long> mergedDistinct = new HashMap<>(distinct);
        other.distinct.forEach((key, value) -> mergedDistinct.merge(key, value, Long::sum));
        return new RawWindow(start, mergedFields, mergedDistinct);
    }

    private static String combine(String field, String a, String b, RuleSpec rule) {
        String[] parts = field.split(String.valueOf(StateKeys.SEP), -1);
        if (parts.length == 2 && !parts[1].isEmpty()) {
            Op kind = rule.ops().stream().filter(o -> o.name().equals(parts[1])).map(RuleSpec.Aggregation::kind).findFirst().orElse(null);
            if (kind == Op.MIN) {
                return Double.parseDouble(a) <= Double.parseDouble(b) ? a : b;
            }
            if (kind == Op.MAX) {
                return Double.parseDouble(a) >= Double.parseDouble(b) ? a : b;
            }
        }
        try {
            return Long.toString(Math.addExact(Long.parseLong(a), Long.parseLong(b)));
        } catch (NumberFormatException | ArithmeticException e) {
            double sum = Double.parseDouble(a) + Double.parseDouble(b);
            // As the writer does: a sum past the finite doubles is held at the largest one.
            return Double.toString(Double.isInfinite(sum) ? Math.copySign(Double.MAX_VALUE, sum) : sum);
        }
    }

    /** How many distinct groups went to the {@code __other__} group (a HyperLogLog estimate, about 0.8 % off). */
    public long overflowGroups() {
        return distinct.getOrDefault(OVERFLOW, 0L);
    }
}
