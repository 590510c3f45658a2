package io.tally.aggregation.domain;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WindowAssignerTest {

    private static long at(String instant) {
        return Instant.parse(instant).toEpochMilli();
    }

    private static long[] starts(WindowAssigner assigner, long time) {
        long[] out = new long[assigner.windowsPerEvent()];
        return Arrays.copyOf(out, assigner.assign(time, out));
    }

    @Test
    void tumblingWindowsAreEpochAlignedAndHalfOpen() {
        WindowAssigner minute = WindowAssigner.tumbling(Duration.ofMinutes(1));
        assertArrayEquals(new long[] {at("2026-11-23T10:00:00Z")}, starts(minute, at("2026-11-23T10:00:00Z")));
        assertArrayEquals(new long[] {at("2026-11-23T10:00:00Z")}, starts(minute, at("2026-11-23T10:00:59.999Z")));
        assertArrayEquals(new long[] {at("2026-11-23T10:01:00Z")}, starts(minute, at("2026-11-23T10:01:00Z")));
        TimeWindow window = minute.windowAt(at("2026-11-23T10:00:00Z"));
        assertTrue(window.contains(at("2026-11-23T10:00:00Z")));
        assertFalse(window.contains(at("2026-11-23T10:01:00Z")));
    }

    @Test
    void hoppingWindowsCoverEachEventSizeOverSlideTimesNewestFirst() {
        WindowAssigner hopping = new WindowAssigner(Duration.ofMinutes(1), Duration.ofSeconds(10));
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
        WindowAssigner second = WindowAssigner.tumbling(Duration.ofSeconds(1));
        assertArrayEquals(new long[] {-1000}, starts(second, -1));
        assertArrayEquals(new long[] {-1000}, starts(second, -1000));
    }

    @Test
    void refusesASlideThatDoesNotDivideTheSize() {
        assertThrows(IllegalArgumentException.class, () -> new WindowAssigner(Duration.ofMinutes(1), Duration.ofSeconds(7)));
        assertThrows(IllegalArgumentException.class, () -> new WindowAssigner(Duration.ZERO, Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> new TimeWindow(5, 5));
    }
}
