package io.tally.results;

import io.lettuce.core.cluster.SlotHash;
import io.tally.model.StateKeys;

import java.util.ArrayList;
import java.util.List;

/**
 * Where the shards of a rule live. A rule with {@code shards} = S keeps its groups in S parts, each on its own hash
 * slot with its own fence and update sequence, so one busy rule's writes spread over the Redis masters instead of
 * queueing on one. The first shard keeps the rule's own tag ({@link StateKeys#ruleTag}); shard {@code s} goes
 * {@code s/S} of the slot space further round, so with the slots split evenly over M masters (as
 * {@code CLUSTER ADDSLOTSRANGE} and the chart do) S = M shards land on M different masters and S = k·M shards k on
 * each. Writer and readers compute the same tags.
 */
public final class RuleShards {

    private RuleShards() {
    }

    /** The hash tag of shard {@code shard} (0-based) of a rule kept in {@code shards} shards. */
    public static String tag(String tenant, String ruleId, int shard, int shards) {
        if (shard < 0 || shard >= shards) {
            throw new IllegalArgumentException("shard " + shard + " of " + shards);
        }
        String first = StateKeys.ruleTag(tenant, ruleId);
        if (shard == 0) {
            return first;
        }
        int slot = (SlotHash.getSlot(first) + (int) Math.round((double) shard * SlotHash.SLOT_COUNT / shards)) % SlotHash.SLOT_COUNT;
        return "{" + SlotTags.tagOf(slot) + "}r:" + tenant + ":" + ruleId + "#" + shard;
    }

    /** The tags of every shard of a rule, in shard order. */
    public static List<String> tags(String tenant, String ruleId, int shards) {
        List<String> tags = new ArrayList<>(shards);
        for (int s = 0; s < shards; s++) {
            tags.add(tag(tenant, ruleId, s, shards));
        }
        return tags;
    }
}
