package io.tally.fold;

import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.RuleRecord;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MicroBatchTest {

    private static final long T0 = Instant.parse("2026-11-23T10:00:00Z").toEpochMilli();

    private static CompiledRule rule(String tenant, String id, int version, List<String> categories) {
        return CompiledRule.compile(new RuleRecord(tenant, id, version, id,
            categories == null ? null : new RuleRecord.Filter(categories, null, null, null), List.of(),
            List.of(new RuleRecord.Aggregation("n", "count", null, null)), new RuleRecord.Window("PT1M", null), "PT5S", "PT24H"));
    }

    private static MicroBatch.Source source(long offset, String tenant, String id, String category) {
        return new MicroBatch.Source(offset, EventCodec.encode(new Event(tenant, id, category, T0 + offset, null, "US", null, Map.of(), null)));
    }

    @Test
    void setsUnreadableRecordsApartAndFoldsTheRest() {
        Map<Integer, List<MicroBatch.Source>> records = new LinkedHashMap<>();
        records.put(2, List.of(source(10, "acme", "a", "sports"), new MicroBatch.Source(11, "{not json".getBytes(StandardCharsets.UTF_8)),
            source(12, "acme", "b", "sports")));
        CompiledRule r = rule("acme", "r", 1, null);
        MicroBatch batch = new MicroBatch(records, t -> t.equals("acme") ? List.of(r) : List.of());
        assertEquals(1, batch.unreadable().size());
        assertEquals(11, batch.unreadable().getFirst().offset());
        assertTrue(batch.unreadable().getFirst().reason().startsWith("the event could not be read"));
        Map<Integer, PartitionState> states = Map.of(2, new PartitionState());
        List<PartitionFold> folds = batch.fold(states, T0 + 60_000, rule -> Long.MIN_VALUE, Map.of(), PartitionFold.DEFAULT_SCRIPT_CELLS);
        assertEquals(2, folds.getFirst().deltas().get("acme:r").parts().getFirst().windows().get(T0).get("[]").count(0));
        assertEquals(12, folds.getFirst().lastOffset());
    }

    @Test
    void takesOneRuleListPerTenantForTheWholeBatch() {
        Map<Integer, List<MicroBatch.Source>> records = new LinkedHashMap<>();
        records.put(1, List.of(source(1, "acme", "a", "sports")));
        records.put(2, List.of(source(1, "acme", "b", "sports")));
        List<CompiledRule> current = new ArrayList<>(List.of(rule("acme", "r", 1, null)));
        Map<String, Integer> asked = new HashMap<>();
        MicroBatch batch = new MicroBatch(records, tenant -> {
            asked.merge(tenant, 1, Integer::sum);
            return List.copyOf(current);
        });
        List<CompiledRule> first = batch.rulesOf("acme");
        current.set(0, rule("acme", "r", 2, null)); // a new version arrives mid-batch
        assertEquals(Map.of(1, first, 2, first), batch.rulesByPartition());
        Map<Integer, PartitionState> states = Map.of(1, new PartitionState(), 2, new PartitionState());
        for (PartitionFold fold : batch.fold(states, T0 + 60_000, rule -> Long.MIN_VALUE, Map.of(), PartitionFold.DEFAULT_SCRIPT_CELLS)) {
            assertEquals(1, fold.deltas().get("acme:r").rule().version(), "both partitions folded with version 1");
        }
        assertEquals(Map.of("acme", 1), asked);
    }

    @Test
    void looksUpIdsOnlyForTenantsSomethingCounts() {
        Map<Integer, List<MicroBatch.Source>> records = new LinkedHashMap<>();
        records.put(4, List.of(source(1, "acme", "a", "sports"), source(2, "idle", "x", "sports"), source(3, "acme", "a", "news"),
            source(4, "acme", "c", "news")));
        MicroBatch batch = new MicroBatch(records, t -> t.equals("acme") ? List.of(rule("acme", "r", 1, null)) : List.of());
        List<IdLookup> lookups = batch.idLookups(Map.of(4, new PartitionState()));
        assertEquals(1, lookups.size());
        assertEquals("acme", lookups.getFirst().tenant());
        assertEquals(List.of("a", "c"), lookups.getFirst().ids(), "each id once");
        assertTrue(!lookups.getFirst().generations().isEmpty());
    }

    @Test
    void aDuplicateFirstSeenInAnEarlierBatchIsDropped() {
        Map<Integer, List<MicroBatch.Source>> records = Map.of(4, List.of(source(20, "acme", "a", "sports"), source(21, "acme", "b", "sports")));
        MicroBatch batch = new MicroBatch(records, t -> List.of(rule("acme", "r", 1, null)));
        var folds = batch.fold(Map.of(4, new PartitionState()), T0 + 60_000, rule -> Long.MIN_VALUE, Map.of(4, Map.of("acme", Map.of("a", 5L))),
            PartitionFold.DEFAULT_SCRIPT_CELLS);
        assertEquals(1, folds.getFirst().deltas().get("acme:r").parts().getFirst().windows().values().stream()
            .mapToLong(groups -> groups.get("[]").count(0)).sum());
        assertEquals(1, folds.getFirst().duplicates());
    }

    @Test
    void aQuarantinedBatchHoldsBackOnlyTheRulesEventsPastItsFence() {
        Map<Integer, List<MicroBatch.Source>> records = Map.of(4, List.of(source(20, "acme", "a", "sports"), source(21, "acme", "b", "news"),
            source(22, "other", "c", "sports"), source(23, "acme", "d", "sports")));
        CompiledRule sports = rule("acme", "r", 1, List.of("sports"));
        MicroBatch batch = new MicroBatch(records, t -> List.of(sports));
        assertEquals(List.of(23L), batch.matching(4, sports, 20).stream().map(MicroBatch.Read::offset).toList());
        assertEquals(List.of(20L, 23L), batch.matching(4, sports, -1).stream().map(MicroBatch.Read::offset).toList());
    }
}
