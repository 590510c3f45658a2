package io.tally.fold;

import io.tally.model.RuleRecord;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FinalityTest {

    private static final long T0 = 1_800_000_000_000L;
    private static final long IDLE = 30_000;
    /** The finalizer's wall clock in these tests. */
    private static final long NOW = T0 + 71_000;

    private static CompiledRule rule(String size, String slide, String lateness) {
        return CompiledRule.compile(new RuleRecord("acme", "r", 1, "r", null, List.of(),
            List.of(new RuleRecord.Aggregation("n", "count", null, null)), new RuleRecord.Window(size, slide), lateness, "PT24H"));
    }

    @Test
    void theTenantIsAsFarAsItsSlowestBusyPartition() {
        var clocks = List.of(new Finality.PartitionClock(T0 + 50_000, T0 + 60_000, T0 + 61_000),
            new Finality.PartitionClock(T0 + 20_000, T0 + 60_000, T0 + 61_000));
        assertEquals(OptionalLong.of(T0 + 20_000), Finality.watermark(clocks, NOW, IDLE));
    }

    @Test
    void aPartitionIdleForLongerThanTheTimeoutAdvancesByWallClock() {
        // Partition 2 last saw the tenant at T0 + 10 s and has been caught up since: at T0 + 70 s it is idle for
        // 30 s beyond the timeout, so its watermark counts 30 s further.
        var clocks = List.of(new Finality.PartitionClock(T0 + 65_000, T0 + 70_000, T0 + 70_000),
            new Finality.PartitionClock(T0 + 9_000, T0 + 10_000, T0 + 70_000));
        assertEquals(OptionalLong.of(T0 + 39_000), Finality.watermark(clocks, NOW, IDLE));
    }

    @Test
    void timeNotCaughtUpDoesNotCountAsIdle() {
        // The engine was down from T0 + 12 s: however long ago that was, the partition stays where it was.
        var clocks = List.of(new Finality.PartitionClock(T0 + 9_000, T0 + 10_000, T0 + 12_000));
        assertEquals(OptionalLong.of(T0 + 9_000), Finality.watermark(clocks, NOW, IDLE));
    }

    @Test
    void aPartitionThatNeverSawTheTenantHoldsNoOneBackOnlyWhileCaughtUp() {
        var seen = new Finality.PartitionClock(T0 + 50_000, T0 + 60_000, T0 + 70_000);
        var caughtUpWithout = new Finality.PartitionClock(Long.MIN_VALUE, 0, T0 + 70_000);
        var behindWithout = new Finality.PartitionClock(Long.MIN_VALUE, 0, T0 + 60_000);
        assertEquals(OptionalLong.of(T0 + 50_000), Finality.watermark(List.of(seen, caughtUpWithout), NOW, IDLE));
        assertEquals(OptionalLong.empty(), Finality.watermark(List.of(seen, behindWithout), NOW, IDLE),
            "a partition with unread events may hold the tenant's: nothing closes");
    }

    @Test
    void aTenantNoPartitionSawHasNoWatermark() {
        assertEquals(OptionalLong.empty(), Finality.watermark(List.of(), NOW, IDLE));
    }

    @Test
    void closesUpToTheLatestWindowCloseAtOrBeforeTheWatermark() {
        CompiledRule tumbling = rule("PT1M", null, "PT5S");
        long minute = 60_000;
        long start = (T0 / minute) * minute;
        // The window [start, start + 1 min) closes at start + 65 s.
        assertEquals(start + 5_000, Finality.closedUpTo(tumbling, start + 64_999));
        assertEquals(start + 65_000, Finality.closedUpTo(tumbling, start + 65_000));
        assertTrue(Finality.isClosed(tumbling, start, start + 65_000));
        assertFalse(Finality.isClosed(tumbling, start, start + 64_999));
        CompiledRule hopping = rule("PT1M", "PT10S", "PT0S");
        assertEquals(start + 60_000, Finality.closedUpTo(hopping, start + 69_999));
    }

    @Test
    void namesTheWindowsThatClosedNewestLastAndAtMostTheLimit() {
        CompiledRule hopping = rule("PT1M", "PT10S", "PT5S");
        long start = (T0 / 60_000) * 60_000;
        long before = start + 65_000;
        long after = start + 95_000;
        assertEquals(List.of(start + 10_000, start + 20_000, start + 30_000), Finality.closedBetween(hopping, before, after, 10));
        assertEquals(List.of(start + 20_000, start + 30_000), Finality.closedBetween(hopping, before, after, 2));
        assertEquals(10, Finality.closedBetween(hopping, -1, after, 10).size(), "a first mark closes all history: only the newest are named");
    }
}
