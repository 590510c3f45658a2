package io.tally.fold;

import io.tally.model.Event;
import io.tally.model.RuleRecord;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PartitionFoldTest {

    private static final long T0 = Instant.parse("2026-11-23T10:00:00Z").toEpochMilli();
    /** The wall clock of the folds: ten minutes after T0. */
    private static final long NOW = T0 + 600_000;

    private static RuleRecord rule(String id, String size, String slide, String lateness, List<String> groupBy,
                                   RuleRecord.Filter filter, RuleRecord.Aggregation... aggs) {
        return new RuleRecord("acme", id, 1, id, filter, groupBy, List.of(aggs), new RuleRecord.Window(size, slide), lateness, "PT24H");
    }

    private static RuleRecord.Aggregation agg(String name, String op, String field, Integer k) {
        return new RuleRecord.Aggregation(name, op, field, k);
    }

    private static Event event(String id, long time, String category, String geo, Double value, Map<String, Object> attrs) {
        return new Event("acme", id, category, time, null, geo, value, attrs, null);
    }

    private static Event event(String id, long time) {
        return event(id, time, "sports", "US", null, Map.of());
    }

    private final PartitionState state = new PartitionState();

    private PartitionFold fold(List<CompiledRule> rules, Event... events) {
        PartitionFold fold = new PartitionFold(3, state, NOW);
        long offset = 100;
        for (Event e : events) {
            fold.add(offset++, e, DedupIndex.NONE, tenant -> tenant.equals("acme") ? rules : List.of());
        }
        return fold;
    }

    private static long count(PartitionFold fold, String rule, long window, String group) {
        return fold.deltas().get("acme:" + rule).parts().getFirst().windows().get(window).get(group).count(0);
    }

    @Test
    void countsEachDuplicateIdOnce() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT5S", List.of(), null, agg("n", "count", null, null)));
        PartitionFold fold = fold(List.of(r), event("a", T0 + 1), event("a", T0 + 1), event("b", T0 + 2), event("a", T0 + 1));
        assertEquals(2, count(fold, "r", T0, "[]"));
        assertEquals(2, fold.duplicates());
    }

    @Test
    void aBatchFoldedWhileTheOneBeforeIsStillAppliedFindsThatOnesIds() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT5S", List.of(), null, agg("n", "count", null, null)));
        PartitionFold first = new PartitionFold(3, state, NOW);
        first.add(10, event("x", T0), DedupIndex.NONE, t -> List.of(r));
        first.add(11, event("y", T0), DedupIndex.NONE, t -> List.of(r));
        first.finish();
        // The dedup index in Redis does not hold x and y yet: the first batch is not persisted.
        Map<Integer, Map<String, Map<String, Long>>> seen = new HashMap<>();
        first.addNewIdsTo(seen);
        assertEquals(Map.of(3, Map.of("acme", Map.of("x", 10L, "y", 11L))), seen);
        PartitionFold second = new PartitionFold(3, state, NOW);
        DedupIndex index = (p, tenant, id) -> seen.getOrDefault(p, Map.of()).getOrDefault(tenant, Map.of()).getOrDefault(id, -1L);
        second.add(20, event("x", T0 + 5), index, t -> List.of(r));
        second.add(21, event("z", T0 + 5), index, t -> List.of(r));
        assertEquals(1, count(second, "r", T0, "[]"), "x was counted by the batch before");
        assertEquals(1, second.duplicates());
        assertEquals(Map.of("acme", T0), first.watermarks(), "the first batch keeps the watermark it left, not the second's");
        assertEquals(Map.of("acme", T0 + 5), state.watermarks());
    }

    @Test
    void dropsIdsSeenInEarlierBatches() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT5S", List.of(), null, agg("n", "count", null, null)));
        PartitionFold fold = new PartitionFold(3, state, NOW);
        fold.add(1, event("old", T0), (p, tenant, id) -> id.equals("old") ? 0 : -1, t -> List.of(r));
        fold.add(2, event("new", T0), (p, tenant, id) -> id.equals("old") ? 0 : -1, t -> List.of(r));
        assertEquals(1, count(fold, "r", T0, "[]"));
    }

    @Test
    void countsAnIdOnceWhateverItsCategoryTimeOrValue() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT1M", List.of("category"), null, agg("n", "count", null, null)));
        PartitionFold fold = fold(List.of(r), event("a", T0 + 1_000, "sports", "US", 1.0, Map.of()),
            event("a", T0 + 30_000, "movies", "FR", 2.0, Map.of()), event("a", T0 + 65_000, "sports", "US", 1.0, Map.of()));
        assertEquals(1, fold.deltas().get("acme:r").parts().getFirst().windows().values().stream().mapToLong(w -> w.values().stream().mapToLong(d -> d.count(0)).sum()).sum());
        assertEquals(2, fold.duplicates());
    }

    @Test
    void keepsIdsInGenerationsOfTheWatermarkAtLeastAsWideAsTheHorizon() {
        // A 10-minute window with 30 s lateness: ids are kept in 15-minute generations of the watermark.
        CompiledRule r = CompiledRule.compile(rule("r", "PT10M", null, "PT30S", List.of(), null, agg("n", "count", null, null)));
        PartitionFold fold = fold(List.of(r), event("a", T0), event("b", T0 + 16 * 60_000), event("c", T0 + 2_000));
        long width = 15 * 60_000;
        var generations = fold.newIds().get("acme");
        // "a" arrived first (at its own time), "b" moved the watermark to its own time, "c" arrived at that watermark.
        assertEquals(Map.of("a", 100L), generations.get(DedupHorizon.generation(T0, width)));
        assertEquals(Map.of("b", 101L, "c", 102L), generations.get(DedupHorizon.generation(T0 + 16 * 60_000, width)));
    }

    @Test
    void anIdThatMovesAWatermarkHoursOldIsFoundByTheNextBatchsLookUps() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT10S", List.of(), null, agg("n", "count", null, null)));
        long width = DedupHorizon.widthFor(70_000);
        PartitionState quiet = new PartitionState();
        quiet.restoreWatermark("acme", T0);
        // The tenant was quiet here for three hours: its first event since moves the watermark far ahead.
        PartitionFold first = new PartitionFold(3, quiet, T0 + 3 * 3_600_000L + 60_000);
        first.add(100, event("x", T0 + 3 * 3_600_000L), DedupIndex.NONE, t -> List.of(r));
        DedupHorizon.Generation kept = first.newIds().get("acme").keySet().iterator().next();
        // A copy in the next batch is looked up from the watermark the first one left.
        assertTrue(DedupHorizon.toCheck(quiet.watermark("acme"), new long[] {T0 + 3 * 3_600_000L + 5_000}, width).contains(kept),
            "kept in " + kept);
    }

    @Test
    void remembersNoIdsOfATenantWithoutRules() {
        PartitionFold fold = fold(List.of(), event("a", T0));
        assertTrue(fold.newIds().isEmpty());
        assertEquals(T0, state.watermark("acme"));
    }

    @Test
    void countsAReplayedEventWhoseIdWasRecordedAtItsOwnOffset() {
        // A flush persisted the batch's ids, then failed (a replica never acknowledged a rule's writes): the
        // replay meets its own ids in the index and must count them for the rules it applies again.
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT5S", List.of(), null, agg("n", "count", null, null)));
        PartitionFold fold = new PartitionFold(3, state, NOW);
        DedupIndex recorded = (p, tenant, id) -> switch (id) {
            case "a" -> 10;
            case "b" -> 11;
            default -> -1;
        };
        fold.add(10, event("a", T0), recorded, t -> List.of(r));
        fold.add(11, event("b", T0), recorded, t -> List.of(r));
        fold.add(12, event("a", T0), recorded, t -> List.of(r));
        assertEquals(2, count(fold, "r", T0, "[]"));
        assertEquals(1, fold.duplicates());
        assertEquals(Map.of("a", 10L, "b", 11L), fold.newIds().get("acme").values().iterator().next());
    }

    @Test
    void countsAnEventWhoseWindowIsPastItsRetentionAsLateInsteadOfWritingWhatWouldBeErased() {
        // The tenant's clock is two days behind (a replay of old data): its windows are open by the watermark,
        // but one day of retention after their end they are gone from the store.
        RuleRecord record = new RuleRecord("acme", "r", 1, "r", null, List.of(), List.of(agg("n", "count", null, null)),
            new RuleRecord.Window("PT1M", null), "PT5S", "PT24H");
        CompiledRule r = CompiledRule.compile(record);
        PartitionFold fold = new PartitionFold(3, state, T0 + 2 * 86_400_000L);
        fold.add(1, event("old", T0), DedupIndex.NONE, t -> List.of(r));
        fold.add(2, event("kept", T0 + 86_400_000L + 30_000), DedupIndex.NONE, t -> List.of(r));
        assertEquals(1, fold.deltas().get("acme:r").lateEvents());
        assertEquals(1, count(fold, "r", T0 + 86_400_000L, "[]"));
        assertEquals(1, fold.lateEvents().size());
    }

    @Test
    void sumsSaturateAtTheLargestDoubleInsteadOfBecomingInfinite() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT5S", List.of(), null, agg("s", "sum", "value", null)));
        PartitionFold fold = fold(List.of(r), event("a", T0, "c", null, 1e308, Map.of()), event("b", T0, "c", null, 1e308, Map.of()),
            event("c", T0, "c", null, -1e308, Map.of()));
        GroupDelta delta = fold.deltas().get("acme:r").parts().getFirst().windows().get(T0).get("[]");
        assertEquals(Double.MAX_VALUE - 1e308, delta.sum(0));
        assertTrue(Double.isFinite(delta.sum(0)));
    }

    @Test
    void countsAnEventForAWindowAlreadyFinalAsLateEvenIfItsPartitionWouldStillTakeIt() {
        // The partition's own watermark keeps the 10:00 window open, but the rule was closed up to 10:01:05
        // (another partition went idle and moved the tenant on): the window was served final and stays so.
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT5S", List.of(), null, agg("n", "count", null, null)));
        PartitionFold fold = new PartitionFold(3, state, NOW, rule -> T0 + 65_000, PartitionFold.DEFAULT_SCRIPT_CELLS);
        fold.add(1, event("a", T0 + 10_000), DedupIndex.NONE, t -> List.of(r));
        fold.add(2, event("b", T0 + 61_000), DedupIndex.NONE, t -> List.of(r));
        assertEquals(1, fold.deltas().get("acme:r").lateEvents());
        assertEquals(null, fold.deltas().get("acme:r").parts().getFirst().windows().get(T0));
        assertEquals(1, count(fold, "r", T0 + 60_000, "[]"));
    }

    @Test
    void aReplayedEventWritesNothingAndIsAnnouncedAgainButNeverPublishedAsLateAgain() {
        // Offsets up to 20 were applied before a crash that came before their announcement (late events were
        // published before the fence moved).
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT5S", List.of(), null, agg("n", "count", null, null)));
        state.setFence(r, 20);
        PartitionFold fold = new PartitionFold(3, state, NOW);
        fold.add(19, event("a", T0 + 70_000), DedupIndex.NONE, t -> List.of(r));
        fold.add(20, event("old", T0), DedupIndex.NONE, t -> List.of(r));
        fold.add(21, event("b", T0 + 71_000), DedupIndex.NONE, t -> List.of(r));
        RuleDelta delta = fold.deltas().get("acme:r");
        assertEquals(1, count(fold, "r", T0 + 60_000, "[]"), "only the event past the fence is written");
        assertEquals(0, delta.lateEvents(), "the late count of the applied batch was written with it");
        assertEquals(Set.of(T0, T0 + 60_000), delta.touched(), "every window the replayed events may have joined");
        assertEquals(List.of(), fold.lateEvents(), "nothing replayed is published as late again");
    }

    @Test
    void countsOutOfOrderEventsInTheirWindowWhileItIsOpen() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT30S", List.of(), null, agg("n", "count", null, null)));
        // The watermark reaches 10:01:20; the 10:00 window stays open until 10:01:30.
        PartitionFold fold = fold(List.of(r), event("a", T0 + 80_000), event("b", T0 + 59_000));
        assertEquals(1, count(fold, "r", T0, "[]"));
        assertEquals(0, fold.deltas().get("acme:r").lateEvents());
    }

    @Test
    void reportsAnEventLateOnceAllItsWindowsClosed() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT30S", List.of(), null, agg("n", "count", null, null)));
        PartitionFold fold = fold(List.of(r), event("a", T0 + 90_000), event("late", T0 + 59_999));
        assertEquals(1, fold.deltas().get("acme:r").lateEvents());
        assertEquals(List.of("late"), fold.lateEvents().stream().map(Event::id).toList());
        assertTrue(fold.deltas().get("acme:r").parts().getFirst().windows().get(T0) == null, "a closed window never changes");
    }

    @Test
    void aHoppingEventJoinsOnlyItsOpenWindows() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", "PT20S", "PT0S", List.of(), null, agg("n", "count", null, null)));
        // Watermark 10:01:05: of the windows of 10:00:50 ([10:00:00..), [10:00:20..), [10:00:40..)), the first has closed.
        PartitionFold fold = fold(List.of(r), event("a", T0 + 65_000), event("b", T0 + 50_000));
        Map<Long, Map<String, GroupDelta>> windows = fold.deltas().get("acme:r").parts().getFirst().windows();
        assertEquals(null, windows.get(T0));
        // a (10:01:05) is in [10:00:20, 10:01:20), [10:00:40, 10:01:40) and [10:01:00, 10:02:00); b joins the first two.
        assertEquals(2, windows.get(T0 + 20_000).get("[]").count(0));
        assertEquals(2, windows.get(T0 + 40_000).get("[]").count(0));
        assertEquals(1, windows.get(T0 + 60_000).get("[]").count(0));
        assertEquals(0, fold.deltas().get("acme:r").lateEvents());
    }

    @Test
    void oneTenantsClockNeverMakesAnothersEventsLate() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT0S", List.of(), null, agg("n", "count", null, null)));
        PartitionFold fold = new PartitionFold(0, state, NOW);
        fold.add(1, new Event("other", "x", "sports", T0 + 3_600_000, null, null, null, Map.of(), null), DedupIndex.NONE, t -> List.of(r));
        fold.add(2, event("mine", T0), DedupIndex.NONE, t -> t.equals("acme") ? List.of(r) : List.of());
        assertEquals(1, count(fold, "r", T0, "[]"));
        assertEquals(T0 + 3_600_000, state.watermark("other"));
        assertEquals(T0, state.watermark("acme"));
    }

    @Test
    void skipsEventsAtOrBelowTheRulesFenceOnReplay() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT5S", List.of(), null, agg("n", "count", null, null)));
        state.setFence(r, 101);
        PartitionFold fold = fold(List.of(r), event("a", T0), event("b", T0), event("c", T0));
        assertEquals(1, count(fold, "r", T0, "[]"), "offsets 100 and 101 were applied before the crash");
    }

    @Test
    void filtersAndGroupsWithNullForMissingDimensions() {
        RuleRecord.Filter filter = new RuleRecord.Filter(List.of("sports"), null, null, Map.of("league", "nba"));
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT5S", List.of("category", "geo"), filter, agg("n", "count", null, null)));
        PartitionFold fold = fold(List.of(r),
            event("a", T0, "sports", "US", null, Map.of("league", "nba")),
            event("b", T0, "sports", null, null, Map.of("league", "nba")),
            event("c", T0, "sports", "US", null, Map.of("league", "nfl")),
            event("d", T0, "movies", "US", null, Map.of("league", "nba")));
        assertEquals(Set.of("[\"sports\",\"US\"]", "[\"sports\",null]"), fold.deltas().get("acme:r").parts().getFirst().windows().get(T0).keySet());
    }

    @Test
    void foldsEveryOperation() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT5S", List.of(), null,
            agg("n", "count", null, null), agg("s", "sum", "value", null), agg("lo", "min", "value", null),
            agg("hi", "max", "value", null), agg("mean", "avg", "attributes.score", null), agg("perSec", "rate", null, null),
            agg("users", "distinct", "attributes.user", null), agg("teams", "topk", "attributes.team", 2)));
        PartitionFold fold = fold(List.of(r),
            event("a", T0, "c", null, 2.0, Map.of("user", "u1", "team", "Lakers", "score", 10.0)),
            event("b", T0, "c", null, -1.5, Map.of("user", "u2", "team", "Lakers")),
            event("c", T0, "c", null, null, Map.of("user", "u1", "team", "Bulls", "score", "n/a")));
        GroupDelta d = fold.deltas().get("acme:r").parts().getFirst().windows().get(T0).get("[]");
        assertEquals(3, d.events());
        assertEquals(3, d.count(0));
        assertEquals(0.5, d.sum(1));
        assertEquals(2, d.count(1), "an event without a number is skipped by sum");
        assertEquals(-1.5, d.min(2));
        assertEquals(2.0, d.max(3));
        assertEquals(10.0, d.sum(4));
        assertEquals(1, d.count(4));
        assertEquals(3, d.count(5));
        assertEquals(Set.of("\"u1\"", "\"u2\""), d.distinctValues(6));
        assertEquals(Map.of("\"Lakers\"", 2L, "\"Bulls\"", 1L), d.topkCounts(7));
    }

    @Test
    void aRulesDeltaIsCutIntoPartsByOffsetThatTogetherHoldTheBatch() {
        CompiledRule r = CompiledRule.compile(rule("r", "PT1M", null, "PT5S", List.of("geo"), null, agg("n", "count", null, null)));
        // A new group costs 3 writes (the group, its events, the count): parts of at most 6 hold two new groups.
        PartitionFold fold = new PartitionFold(3, state, NOW, rule -> Long.MIN_VALUE, 6);
        String[] geos = {"US", "US", "FR", "DE", "US", "IT"};
        for (int i = 0; i < geos.length; i++) {
            fold.add(100 + i, event("e" + i, T0 + 70_000 + i, "sports", geos[i], null, Map.of()), DedupIndex.NONE, t -> List.of(r));
        }
        fold.add(106, event("late", T0 - 120_000), DedupIndex.NONE, t -> List.of(r));
        List<RuleDelta.Part> parts = fold.deltas().get("acme:r").parts();
        assertEquals(List.of(102L, 104L, RuleDelta.OPEN), parts.stream().map(RuleDelta.Part::end).toList(), "US+FR, DE+US, IT+late");
        assertEquals(Set.of("[\"US\"]", "[\"FR\"]"), parts.get(0).windows().get(T0 + 60_000).keySet());
        assertEquals(2, parts.get(0).windows().get(T0 + 60_000).get("[\"US\"]").count(0));
        assertEquals(Set.of("[\"DE\"]", "[\"US\"]"), parts.get(1).windows().get(T0 + 60_000).keySet());
        assertEquals(1, parts.get(2).lateEvents(), "a late event is counted in the part of its offset");
        assertEquals(1, fold.deltas().get("acme:r").lateEvents());
        assertEquals(Set.of(T0 + 60_000), fold.deltas().get("acme:r").touched());
    }
}
