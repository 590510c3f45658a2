package io.tally.aggregation.domain;

import java.util.Locale;

/** The aggregation operations of the public contract. */
public enum AggregationKind {
    COUNT, SUM, MIN, MAX, AVG, RATE, DISTINCT, TOPK;

    public static AggregationKind of(String op) {
        return valueOf(op.toUpperCase(Locale.ROOT));
    }

    /** Whether the operation reads a numeric field (events without a number there are skipped). */
    public boolean numeric() {
        return this == SUM || this == MIN || this == MAX || this == AVG;
    }
}
