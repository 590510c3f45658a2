package io.tally.fold;

import io.micronaut.core.annotation.Nullable;

/**
 * What applying one rule's delta of one batch did: {@code result} 1 applied, 0 already applied (a replay),
 * -1 the fence moved, -2 the rule was closed further meanwhile, {@link #POISON} the script refused or failed on
 * this rule's own data ({@code problem} says why; nothing of it was written); {@code seq} the rule's update
 * sequence after it (0 when refused). A delta is applied in parts ({@link RuleDelta.Part}): when one part is
 * refused, {@code appliedThrough} is where the parts before it moved the rule's fence ({@link #NOTHING} when none
 * was applied), and the outcome is the refused part's.
 */
public record ApplyOutcome(long result, long seq, @Nullable String problem, long appliedThrough) {

    public static final long POISON = -3;

    /** No part of the delta was applied. */
    public static final long NOTHING = Long.MIN_VALUE;

    public ApplyOutcome(long result, long seq) {
        this(result, seq, null, NOTHING);
    }

    public ApplyOutcome(long result, long seq, @Nullable String problem) {
        this(result, seq, problem, NOTHING);
    }

    /** The same outcome, after parts that moved the fence to {@code offset}. */
    public ApplyOutcome after(long offset) {
        return new ApplyOutcome(result, seq, problem, offset);
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
