package io.tally.aggregation.domain;

import io.micronaut.core.annotation.Nullable;

/**
 * What applying one rule's delta of one batch did: {@code result} 1 applied, 0 already applied (a replay),
 * -1 the fence moved, -2 the rule was closed further meanwhile, {@link #POISON} the script refused or failed on
 * this rule's own data ({@code problem} says why; nothing of it was written); {@code seq} the rule's update
 * sequence after it (0 when refused).
 */
public record ApplyOutcome(long result, long seq, @Nullable String problem) {

    public static final long POISON = -3;

    public ApplyOutcome(long result, long seq) {
        this(result, seq, null);
    }

    public boolean applied() {
        return result > 0;
    }

    public boolean fenceMoved() {
        return result == -1;
    }

    public boolean closedMoved() {
        return result == -2;
    }

    /** The batch cannot be applied to this rule, however often it is tried again as it is. */
    public boolean poisoned() {
        return result == POISON;
    }
}
