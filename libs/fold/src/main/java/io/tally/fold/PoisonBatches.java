package io.tally.fold;

import java.util.HashMap;
import java.util.Map;

/**
 * Decides when a batch that cannot be applied to a rule is quarantined instead of tried again. A rule's
 * batch of one partition is tried {@code attempts} times (the flush rewinds and backs off in between, in
 * case what failed passes); after that it goes to the dead-letter topic and the rule's fence moves past it,
 * so the partition's other rules and tenants keep counting. While a rule keeps failing on a partition (its
 * stored state is broken), each further batch is quarantined at its first failure: one bad window must
 * not stall the partition for every batch. The first batch the rule applies again ends that.
 */
public final class PoisonBatches {

    private final int attempts;
    /** Failures in a row per partition and rule ({@code tenant:ruleId}); at or past {@code attempts}: quarantining. */
    private final Map<String, Integer> failures = new HashMap<>();

    public PoisonBatches(int attempts) {
        if (attempts < 1) {
            throw new IllegalArgumentException("attempts must be at least 1, was " + attempts);
        }
        this.attempts = attempts;
    }

    /** Records a failed try; true when the batch is to be quarantined now, false when it is tried again. */
    public boolean failed(int partition, String rule) {
        return failures.merge(key(partition, rule), 1, Integer::sum) >= attempts;
    }

    /** How often the rule failed in a row on this partition. */
    public int failures(int partition, String rule) {
        return failures.getOrDefault(key(partition, rule), 0);
    }

    /** The rule applied a batch of this partition: its next failure starts counting afresh. */
    public void applied(int partition, String rule) {
        if (!failures.isEmpty()) {
            failures.remove(key(partition, rule));
        }
    }

    /** The partition went to another instance: its count goes with it (the new owner counts afresh). */
    public void forget(int partition) {
        failures.keySet().removeIf(k -> k.startsWith(partition + "/"));
    }

    public int attempts() {
        return attempts;
    }

    private static String key(int partition, String rule) {
        return partition + "/" + rule;
    }
}
