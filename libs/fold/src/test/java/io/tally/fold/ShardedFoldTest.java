package io.tally.fold;

import io.tally.model.Event;
import io.tally.model.RuleRecord;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardedFoldTest {

    private static final long T0 = Instant.parse("2026-11-23T10:00:00Z").toEpochMilli();
    private static final long NOW = T0 + 600_000;

    private static CompiledRule rule(int shards) {
        return CompiledRule.compile(new RuleRecord("acme", "r", 1, "r", null, List.of("category"),
            List.of(new RuleRecord.Aggregation("n", "count", null, null)), new RuleRecord.Window("PT1M", null), "PT5S", "PT24H", shards));
    }

    private static Event event(String id, long time, String category) {
        return new Event("acme", id, category, time, null, "US", null, Map.of(), null);
    }

    /** Per shard key, per group: the events counted in the window at T0. */
    private static Map<String, Map<String, Long>> counts(PartitionFold fold) {
        Map<String, Map<String, Long>> counts = new HashMap<>();
        fold.deltas().forEach((key, delta) -> delta.parts().forEach(part -> part.windows().getOrDefault(T0, Map.of())
            .forEach((group, d) -> counts.computeIfAbsent(key, k -> new HashMap<>()).merge(group, d.count(0), Long::sum))));
        return counts;
    }

    @Test
    void eachShardIsARuleOfItsOwnSharingTheDefinition() {
        CompiledRule first = rule(3);
        assertEquals(3, first.shards());
        assertEquals(List.of("acme:r", "acme:r#1", "acme:r#2"), first.allShards().stream().map(CompiledRule::key).toList());
        for (CompiledRule shard : first.allShards()) {
            assertSame(first.spec(), shard.spec());
            assertEquals(List.of(first, first.allShards().get(1), first.allShards().get(2)), shard.allShards());
        }
        assertEquals("acme:r", rule(1).key(), "a rule of one shard keeps the key it always had");
        CompiledRule single = rule(1);
        assertSame(single, single.shardOf("[\"x\"]"));
    }

    @Test
    void everyGroupGoesToOneShardAndTheGroupsSpreadOverAll() {
        CompiledRule first = rule(4);
        int[] perShard = new int[4];
        for (int i = 0; i < 4_000; i++) {
            String group = "[\"c" + i + "\"]";
            CompiledRule shard = first.shardOf(group);
            assertSame(shard, first.allShards().get(shard.shard()).shardOf(group), "the same shard whichever shard is asked");
            perShard[shard.shard()]++;
        }
        for (int n : perShard) {
            assertTrue(n > 800 && n < 1_200, "groups per shard " + Arrays.toString(perShard));
        }
    }

    @Test
    void aBatchFoldsIntoOneDeltaPerShardAndCountsEveryEventOnce() {
        CompiledRule first = rule(3);
        PartitionFold fold = new PartitionFold(0, new PartitionState(), NOW);
        for (int i = 0; i < 300; i++) {
            fold.add(i, event("e" + i, T0 + i, "c" + (i % 30)), DedupIndex.NONE, t -> List.of(first));
        }
        Map<String, Map<String, Long>> counts = counts(fold);
        assertEquals(3, counts.size(), "all three shards got groups: " + counts.keySet());
        long total = 0;
        for (var e : counts.entrySet()) {
            for (var g : e.getValue().entrySet()) {
                assertEquals(e.getKey(), first.shardOf(g.getKey()).key(), "group " + g.getKey() + " folded into its own shard");
                assertEquals(10, g.getValue());
                total += g.getValue();
            }
        }
        assertEquals(300, total);
    }

    @Test
    void aReplayIsFencedPerShard() {
        CompiledRule first = rule(2);
        // Find one category per shard.
        String[] category = new String[2];
        for (int i = 0; category[0] == null || category[1] == null; i++) {
            category[first.shardOf("[\"c" + i + "\"]").shard()] = "c" + i;
        }
        PartitionState state = new PartitionState();
        // Shard 1 applied offsets up to 10 before a crash; shard 0 nothing.
        state.setFence(first.allShards().get(1), 10);
        PartitionFold fold = new PartitionFold(0, state, NOW);
        for (int i = 0; i < 20; i++) {
            fold.add(i, event("e" + i, T0 + i, category[i % 2]), DedupIndex.NONE, t -> List.of(first));
        }
        Map<String, Map<String, Long>> counts = counts(fold);
        assertEquals(10, counts.get("acme:r").get("[\"" + category[0] + "\"]"), "shard 0 counts all of its events");
        assertEquals(5, counts.get("acme:r#1").get("[\"" + category[1] + "\"]"), "shard 1 only those past its fence (11..19, odd)");
        assertTrue(fold.deltas().get("acme:r#1").touched().contains(T0), "the replayed window is announced again");
    }

    @Test
    void aShardOwnsOnlyTheEventsOfItsGroups() {
        CompiledRule first = rule(2);
        Event e = event("x", T0, "sports");
        CompiledRule owner = first.shardOf("[\"sports\"]");
        CompiledRule other = first.allShards().get(1 - owner.shard());
        assertNotSame(owner, other);
        assertTrue(owner.owns(e));
        assertFalse(other.owns(e));
    }
}
