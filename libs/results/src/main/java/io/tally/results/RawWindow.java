package io.tally.results;

import java.util.Map;

/**
 * One window's stored state: the hash of counters ({@code io.tally.model.StateKeys#window}) and the
 * cardinality of each distinct aggregation, keyed by {@code groupJson SEP aggregation}.
 */
public record RawWindow(long start, Map<String, String> fields, Map<String, Long> distinct) {
}
