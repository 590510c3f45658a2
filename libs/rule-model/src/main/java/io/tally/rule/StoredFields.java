package io.tally.rule;

import java.util.List;

/**
 * Which aggregations of a rule keep a field of their own in a group's stored state, and which read a field kept anyway.
 * A group always keeps its event count (the field named {@link #EVENTS}); a {@code count} or {@code rate} equals it, so
 * neither is written apart. An {@code avg}'s sum equals a {@code sum} of the same field, so it is not written apart
 * either when the rule has one ({@link #sumBeside}); its count of numbers is. Fewer fields per group is fewer commands
 * in every apply script and in every replica's stream.
 * <p>
 * Readers read the shared field first and the aggregation's own field only where the shared one is missing. That
 * stays exact for windows written before this layout: every writer kept the shared fields too, each the same value
 * as the own ones, and a window written partly before and partly after an upgrade has it whole in the shared field
 * only.
 */
public final class StoredFields {

    /** The name (after the group and the separator) of the field holding a group's event count. */
    public static final String EVENTS = "";

    private StoredFields() {
    }

    /** Whether the aggregation's value is the group's event count ({@code count}, {@code rate}): no field of its own. */
    public static boolean isEventCount(RuleSpec.Aggregation aggregation) {
        return aggregation.kind() == Op.COUNT || aggregation.kind() == Op.RATE;
    }

    /**
     * For the {@code avg} at {@code index}, the index of the first {@code sum} of the same field, whose field holds the
     * average's sum; -1 when the rule has none (the average keeps its sum itself) or the aggregation is not an average.
     */
    public static int sumBeside(List<RuleSpec.Aggregation> aggregations, int index) {
        RuleSpec.Aggregation avg = aggregations.get(index);
        if (avg.kind() != Op.AVG) {
            return -1;
        }
        for (int i = 0; i < aggregations.size(); i++) {
            RuleSpec.Aggregation a = aggregations.get(i);
            if (a.kind() == Op.SUM && a.field().equals(avg.field())) {
                return i;
            }
        }
        return -1;
    }
}
