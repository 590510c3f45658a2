package io.tally.fold;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DedupHorizonTest {

    private static final long MINUTE = 60_000;

    @Test
    void roundsTheHorizonUpToALadderStep() {
        assertEquals(MINUTE, DedupHorizon.widthFor(0));
        assertEquals(MINUTE, DedupHorizon.widthFor(MINUTE));
        assertEquals(2 * MINUTE, DedupHorizon.widthFor(MINUTE + 1));
        assertEquals(15 * MINUTE, DedupHorizon.widthFor(10 * MINUTE + 30_000));
        assertEquals(2 * 1440 * MINUTE, DedupHorizon.widthFor(1500 * MINUTE), "a day's window and an hour's lateness");
    }

    @Test
    void looksUpTheGenerationsEveryArrivalOfTheBatchCouldHaveAnEarlierCopyIn() {
        long width = 5 * MINUTE;
        // The watermark is at 12 min; the batch carries events up to 21 min, which moves the arrivals into generation 4.
        Set<DedupHorizon.Generation> generations = DedupHorizon.toCheck(12 * MINUTE, new long[] {3 * MINUTE, 21 * MINUTE, 22 * MINUTE}, width);
        assertEquals(List.of(1L, 2L, 3L, 4L), generations.stream().map(DedupHorizon.Generation::index).toList());
    }

    @Test
    void aTenantNewToThePartitionArrivesAtItsFirstEventsTime() {
        Set<DedupHorizon.Generation> generations = DedupHorizon.toCheck(Long.MIN_VALUE, new long[] {7 * MINUTE}, 5 * MINUTE);
        assertEquals(List.of(0L, 1L), generations.stream().map(DedupHorizon.Generation::index).toList());
    }

    @Test
    void anIdIsFoundForAtLeastTheHorizonAfterItArrived() {
        // An id kept at arrival a is looked up (own and previous generation) by every arrival before a + width.
        long width = DedupHorizon.widthFor(7 * MINUTE);
        for (long a = 0; a < 3 * width; a += 17_000) {
            DedupHorizon.Generation kept = DedupHorizon.generation(a, width);
            for (long later = a; later < a + width; later += 13_000) {
                assertEquals(true, DedupHorizon.toCheck(later, new long[] {later}, width).contains(kept), a + " then " + later);
            }
        }
    }
}
