package io.tally.rule;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** The aggregation operations of the public contract ({@code "op"} of an aggregation, lower case on the wire). */
public enum Op {
    COUNT, SUM, MIN, MAX, AVG, RATE, DISTINCT, TOPK;

    private final String wire = name().toLowerCase(Locale.ROOT);

    /** Every operation as the API spells it, in the contract's order. */
    public static final List<String> NAMES = Arrays.stream(values()).map(Op::wire).toList();

    /** The operation spelled {@code op} on the wire; {@link IllegalArgumentException} for anything else. */
    public static Op of(String op) {
        for (Op o : values()) {
            if (o.wire.equals(op)) {
                return o;
            }
        }
        throw new IllegalArgumentException("'" + op + "' is not an op; use " + names());
    }

    /** Whether {@code op} is an operation's wire name (lower case, exactly). */
    public static boolean isOp(String op) {
        return NAMES.contains(op);
    }

    /** "count, sum, …, distinct or topk", for messages. */
    public static String names() {
        return String.join(", ", NAMES.subList(0, NAMES.size() - 1)) + " or " + NAMES.getLast();
    }

    public String wire() {
        return wire;
    }

    /** Reads a numeric field (value or a numeric attribute); events without a number there are skipped. */
    public boolean numeric() {
        return this == SUM || this == MIN || this == MAX || this == AVG;
    }

    /** Reads any value of a field (a dimension, value or an attribute). */
    public boolean valued() {
        return this == DISTINCT || this == TOPK;
    }

    /** Needs a {@code field}: the numeric and the valued operations. */
    public boolean needsField() {
        return numeric() || valued();
    }
}
