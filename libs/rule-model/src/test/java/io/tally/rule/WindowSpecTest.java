package io.tally.rule;

import io.tally.model.RuleRecord;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WindowSpecTest {

    private static long at(String instant) {
        return Instant.parse(instant).toEpochMilli();
    }

    private static long[] starts(WindowSpec assigner, long time) {
        long[] out = new long[assigner.windowsPerEvent()];
        return Arrays.copyOf(out, assigner.assign(time, out));
    }

    @Test
    void tumblingWindowsAreEpochAlignedAndHalfOpen() {
        WindowSpec minute = WindowSpec.tumbling(Duration.ofMinutes(1));
        assertArrayEquals(new long[] {at("2026-11-23T10:00:00Z")}, starts(minute, at("2026-11-23T10:00:00Z")));
        assertArrayEquals(new long[] {at("2026-11-23T10:00:00Z")}, starts(minute, at("2026-11-23T10:00:59.999Z")));
        assertArrayEquals(new long[] {at("2026-11-23T10:01:00Z")}, starts(minute, at("2026-11-23T10:01:00Z")));
        TimeWindow window = minute.windowAt(at("2026-11-23T10:00:00Z"));
        assertTrue(window.contains(at("2026-11-23T10:00:00Z")));
        assertFalse(window.contains(at("2026-11-23T10:01:00Z")));
    }

    @Test
    void hoppingWindowsCoverEachEventSizeOverSlideTimesNewestFirst() {
        WindowSpec hopping = new WindowSpec(Duration.ofMinutes(1), Duration.ofSeconds(10), Duration.ZERO);
        assertEquals(6, hopping.windowsPerEvent());
        long t = at("2026-11-23T10:00:35Z");
        long[] starts = starts(hopping, t);
        assertEquals(at("2026-11-23T10:00:30Z"), starts[0]);
        assertEquals(at("2026-11-23T09:59:40Z"), starts[5]);
        for (long start : starts) {
            assertTrue(hopping.windowAt(start).contains(t));
        }
        assertFalse(hopping.windowAt(starts[5] - 10_000).contains(t), "the window before the oldest no longer contains it");
    }

    @Test
    void alignsTimesBeforeTheEpoch() {
        WindowSpec second = WindowSpec.tumbling(Duration.ofSeconds(1));
        assertArrayEquals(new long[] {-1000}, starts(second, -1));
        assertArrayEquals(new long[] {-1000}, starts(second, -1000));
    }

    @Test
    void refusesASlideThatDoesNotDivideTheSize() {
        assertThrows(IllegalArgumentException.class, () -> new WindowSpec(Duration.ofMinutes(1), Duration.ofSeconds(7), Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> new WindowSpec(Duration.ZERO, Duration.ZERO, Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> new WindowSpec(Duration.ofMinutes(1), null, Duration.ofSeconds(-1)));
        assertThrows(IllegalArgumentException.class, () -> new TimeWindow(5, 5));
    }

    private static WindowSpec spec(long size, long slide) {
        return new WindowSpec(Duration.ofMillis(size), Duration.ofMillis(slide), Duration.ofSeconds(5));
    }

    @Test
    void countsTheOverlappingWindowsExactlyAsTheListHasThem() {
        for (WindowSpec spec : List.of(spec(60_000, 60_000), spec(60_000, 10_000), spec(1_000, 1_000), spec(300_000, 60_000))) {
            for (long from = -130_000; from < 130_000; from += 7_000) {
                for (long to = from + 1; to < from + 400_000; to += 33_000) {
                    assertEquals(spec.windowsOverlapping(from, to).size(), spec.countOverlapping(from, to), spec + " " + from + ".." + to);
                }
            }
        }
    }

    @Test
    void countsCenturiesOfOneSecondWindowsWithoutBuildingAnything() {
        long from = Instant.parse("2000-01-01T00:00:00Z").toEpochMilli();
        long to = Instant.parse("2026-12-03T00:00:00Z").toEpochMilli();
        assertEquals((to - from) / 1_000, spec(1_000, 1_000).countOverlapping(from, to));
    }

    @Test
    void aWindowIsFinalOnceClosedUpToItsEndPlusTheLateness() {
        WindowSpec spec = spec(60_000, 60_000);
        assertFalse(spec.isFinal(0, null));
        assertFalse(spec.isFinal(0, 64_999L));
        assertTrue(spec.isFinal(0, 65_000L));
        assertEquals(65_000, spec.closesAt(0));
    }

    @Test
    void aRuleLeavingOutSlideAndLatenessHasTumblingWindowsAndTheDefaultLateness() {
        WindowSpec spec = WindowSpec.of(new RuleRecord("t", "r", 1, null, null, null, List.of(), new RuleRecord.Window("PT1M", null), null, null));
        assertEquals(60_000, spec.slideMillis());
        assertFalse(spec.overlapping());
        assertEquals(RuleDefaults.LATENESS.toMillis(), spec.latenessMillis());
        assertTrue(new WindowSpec(Duration.ofMinutes(5), Duration.ofMinutes(1), Duration.ZERO).overlapping());
    }
}
