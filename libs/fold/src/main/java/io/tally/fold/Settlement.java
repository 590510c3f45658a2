package io.tally.fold;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the outcomes of a batch's scripts mean for the engine: which rules' fences move, which windows are
 * announced, which rule batches are quarantined, and whether the batch must be read again. Pure.
 * <ul>
 *   <li>a delta is applied in parts: when one is refused, the fence first moves past the parts before it;</li>
 *   <li>applied or already applied (a replay): the fence moves to the batch's end and every window the batch
 *       touched is announced (a replay announces again: the first announcement may be what a crash lost);</li>
 *   <li>the fence moved under this instance, or the rule was closed further while the batch was folded: the
 *       batch is read and folded again ({@link ReadAgain});</li>
 *   <li>the script failed on the rule's own data: tried again ({@link ReadAgain}) until {@link PoisonBatches}
 *       says to quarantine it.</li>
 * </ul>
 * The other rules' scripts took effect whatever happened to one: they are fenced, so reading the batch again
 * only retries what failed.
 */
public final class Settlement {

    /** The batch must be read (and folded) again from where Redis holds it. */
    public static final class ReadAgain extends RuntimeException {
        public ReadAgain(String message) {
            super(message);
        }
    }

    /** Windows of a rule to announce, with the rule's update sequence after the batch. */
    public record Announcement(CompiledRule rule, Set<Long> windows, long seq) {
    }

    /** A rule's batch of one partition that cannot be applied: to the dead-letter topic, then the fence moves past it. */
    public record Quarantine(PartitionFold fold, CompiledRule rule, String reason) {
    }

    private final List<Announcement> announcements = new ArrayList<>();
    private final List<Quarantine> quarantines = new ArrayList<>();

    private Settlement() {
    }

    /**
     * Settles the outcomes (partition → rule shard key ({@link CompiledRule#key()}) → outcome) of the folds' deltas, moving the fences in
     * {@code states}; throws {@link ReadAgain} when the batch must be read again.
     */
    public static Settlement of(List<PartitionFold> folds, Map<Integer, Map<String, ApplyOutcome>> outcomes,
                                Map<Integer, PartitionState> states, PoisonBatches poison) {
        Settlement settlement = new Settlement();
        List<String> retried = new ArrayList<>();
        for (PartitionFold fold : folds) {
            PartitionState state = states.get(fold.partition());
            for (Map.Entry<String, RuleDelta> entry : fold.deltas().entrySet()) {
                RuleDelta delta = entry.getValue();
                CompiledRule rule = delta.rule();
                ApplyOutcome outcome = outcomes.getOrDefault(fold.partition(), Map.of()).get(entry.getKey());
                if (outcome == null) {
                    throw new ReadAgain("no outcome for rule " + rule.id() + " on partition " + fold.partition());
                }
                if (!outcome.applied() && outcome.result() != 0 && outcome.appliedThrough() > state.fence(rule)) {
                    // Parts before the refused one took effect: what follows is read, retried or quarantined from there.
                    state.setFence(rule, outcome.appliedThrough());
                }
                if (outcome.closedMoved()) {
                    throw new ReadAgain("rule " + rule.id() + " was closed further while its batch was folded; folding again");
                }
                if (outcome.fenceMoved()) {
                    throw new ReadAgain("the fence of rule " + rule.id() + " on partition " + fold.partition()
                        + " moved under this instance (another writer, or Redis lost writes)");
                }
                if (outcome.poisoned()) {
                    if (poison.failed(fold.partition(), entry.getKey())) {
                        settlement.quarantines.add(new Quarantine(fold, rule, outcome.problem()));
                    } else {
                        retried.add("rule " + rule.id() + " of tenant " + rule.tenant() + " on partition " + fold.partition()
                            + " (try " + poison.failures(fold.partition(), entry.getKey()) + " of " + poison.attempts() + "): " + outcome.problem());
                    }
                    continue;
                }
                poison.applied(fold.partition(), entry.getKey());
                state.setFence(rule, Math.max(state.fence(rule), fold.lastOffset()));
                Set<Long> touched = delta.touched();
                if (!touched.isEmpty()) {
                    settlement.announcements.add(new Announcement(rule, touched, outcome.seq()));
                }
            }
        }
        if (!retried.isEmpty()) {
            throw new ReadAgain("a batch could not be applied to " + String.join("; ", retried) + "; it is tried again");
        }
        return settlement;
    }

    public List<Announcement> announcements() {
        return announcements;
    }

    public List<Quarantine> quarantines() {
        return quarantines;
    }
}
