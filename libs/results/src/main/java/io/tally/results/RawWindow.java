package io.tally.results;

import io.tally.model.StateKeys;

import java.util.Map;

/**
 * One window's stored state: the hash of counters ({@code io.tally.model.StateKeys#window}) and the
 * cardinality of each distinct aggregation, keyed by {@code groupJson SEP aggregation} (and, keyed
 * {@code SEP of}, how many groups beyond the tenant's quota were counted in {@code __other__}).
 */
public record RawWindow(long start, Map<String, String> fields, Map<String, Long> distinct) {

    static final String OVERFLOW = StateKeys.SEP + "of";

    /** How many distinct groups went to the {@code __other__} group (a HyperLogLog estimate, about 0.8 % off). */
    public long overflowGroups() {
        return distinct.getOrDefault(OVERFLOW, 0L);
    }
}
