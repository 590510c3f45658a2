package io.tally.results;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RuleViewTest {

    private static RuleView rule(long size, long slide) {
        return new RuleView("acme", "r", 1, size, slide, 5_000, List.of(), List.of());
    }

    @Test
    void countsTheOverlappingWindowsExactlyAsTheListHasThem() {
        for (RuleView rule : List.of(rule(60_000, 60_000), rule(60_000, 10_000), rule(1_000, 1_000), rule(300_000, 60_000))) {
            for (long from = -130_000; from < 130_000; from += 7_000) {
                for (long to = from + 1; to < from + 400_000; to += 33_000) {
                    assertEquals(rule.windowsOverlapping(from, to).size(), rule.countOverlapping(from, to), rule + " " + from + ".." + to);
                }
            }
        }
    }

    @Test
    void countsCenturiesOfOneSecondWindowsWithoutBuildingAnything() {
        long from = Instant.parse("2000-01-01T00:00:00Z").toEpochMilli();
        long to = Instant.parse("2026-12-03T00:00:00Z").toEpochMilli();
        assertEquals((to - from) / 1_000, rule(1_000, 1_000).countOverlapping(from, to));
    }

    @Test
    void aWindowIsFinalOnceClosedUpToItsEndPlusTheLateness() {
        RuleView rule = rule(60_000, 60_000);
        assertFalse(rule.isFinal(0, null));
        assertFalse(rule.isFinal(0, 64_999L));
        assertTrue(rule.isFinal(0, 65_000L));
    }
}
