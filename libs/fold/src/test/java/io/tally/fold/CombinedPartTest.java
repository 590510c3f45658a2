package io.tally.fold;

import io.tally.model.Event;
import io.tally.model.RuleRecord;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CombinedPartTest {

    private static final long T0 = Instant.parse("2026-12-08T10:00:00Z").toEpochMilli();

    private static final CompiledRule RULE = CompiledRule.compile(new RuleRecord("acme", "r", 1, "r", null, List.of("geo"), List.of(
        new RuleRecord.Aggregation("n", "count", null, null), new RuleRecord.Aggregation("s", "sum", "value", null),
        new RuleRecord.Aggregation("lo", "min", "value", null), new RuleRecord.Aggregation("hi", "max", "value", null),
        new RuleRecord.Aggregation("d", "distinct", "attributes.user", null), new RuleRecord.Aggregation("t", "topk", "attributes.team", 3)),
        new RuleRecord.Window("PT1M", null), "PT5S", "PT24H"));

    private static Event event(String id, long time, String geo, Double value, String user, String team) {
        return new Event("acme", id, "c", time, null, geo, value, Map.of("user", user, "team", team), null);
    }

    /** One partition's single part of RULE, its events at offsets 100, 101, … */
    private static CombinedPart.Share share(int partition, Event... events) {
        PartitionFold fold = new PartitionFold(partition, new PartitionState(), T0 + 600_000);
        for (int i = 0; i < events.length; i++) {
            fold.add(100 + i, events[i], DedupIndex.NONE, tenant -> List.of(RULE));
        }
        RuleDelta delta = fold.deltas().get(RULE.key());
        return new CombinedPart.Share(partition, delta.parts().getFirst(), -1, fold.lastOffset());
    }

    @Test
    void foldsEachGroupOfEveryPartitionTogetherAsIfItsEventsHadBeenFoldedInOne() {
        CombinedPart combined = new CombinedPart(RULE.ops().length, 20_000);
        CombinedPart.Share first = share(3, event("a", T0 + 1, "US", 2.0, "u1", "x"), event("b", T0 + 61_000, "US", 1.0, "u1", "x"));
        CombinedPart.Share second = share(5, event("c", T0 + 2, "US", -3.0, "u2", "y"), event("d", T0 + 3, "DE", null, "u1", "x"),
            event("e", T0 + 4, "US", 10.0, "u1", "x"));
        assertTrue(combined.add(first));
        assertTrue(combined.add(second));

        GroupDelta us = combined.windows().get(T0).get("[\"US\"]");
        assertEquals(3, us.events());
        assertEquals(3, us.count(0));
        assertEquals(9.0, us.sum(1));
        assertEquals(-3.0, us.min(2));
        assertEquals(10.0, us.max(3));
        assertEquals(java.util.Set.of("\"u1\"", "\"u2\""), us.distinctValues(4));
        assertEquals(Map.of("\"x\"", 2L, "\"y\"", 1L), us.topkCounts(5));
        GroupDelta de = combined.windows().get(T0).get("[\"DE\"]");
        assertEquals(1, de.events());
        assertEquals(0, de.count(1), "no number: not summed");
        assertEquals(Double.POSITIVE_INFINITY, de.min(2), "no minimum of nothing");
        assertEquals(1, combined.windows().get(T0 + 60_000).get("[\"US\"]").events(), "the next window's group kept apart");
        assertEquals(List.of("[\"US\"]", "[\"DE\"]"), List.copyOf(combined.windows().get(T0).keySet()), "groups in order of first appearance");
        assertEquals(List.of(3, 5), combined.shares().stream().map(CombinedPart.Share::partition).toList());

        // The partitions' own folds are left as they were.
        assertEquals(1, first.part().windows().get(T0).get("[\"US\"]").events());
        assertEquals(2, second.part().windows().get(T0).get("[\"US\"]").events());
    }

    @Test
    void aShareThatWouldTakeItPastItsCellsIsLeftForAnotherScriptButAFirstShareAlwaysFits() {
        int perGroup = RuleDelta.GROUP_CELLS + RULE.ops().length;
        CombinedPart.Share us = share(3, event("a", T0 + 1, "US", 1.0, "u1", "x"));
        CombinedPart.Share usAgain = share(4, event("b", T0 + 2, "US", 1.0, "u1", "x"));
        CombinedPart.Share de = share(5, event("c", T0 + 3, "DE", 1.0, "u1", "x"));

        CombinedPart small = new CombinedPart(RULE.ops().length, 1);
        assertTrue(small.add(us), "a first share fits whatever its size");
        assertFalse(small.add(de));

        CombinedPart roomForOneGroup = new CombinedPart(RULE.ops().length, perGroup + 4);
        assertTrue(roomForOneGroup.add(us));
        assertTrue(roomForOneGroup.add(usAgain), "the same group costs only its new values: " + roomForOneGroup.cells());
        assertFalse(roomForOneGroup.add(de), "a new group does not fit");
        assertEquals(List.of(3, 4), roomForOneGroup.shares().stream().map(CombinedPart.Share::partition).toList());
        assertEquals(2, roomForOneGroup.windows().get(T0).get("[\"US\"]").events());
    }
}
