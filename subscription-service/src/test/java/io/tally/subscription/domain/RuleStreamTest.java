package io.tally.subscription.domain;

import io.tally.model.WindowUpdate;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RuleStreamTest {

    private static WindowUpdate part(long seq, int parts, long start) {
        return new WindowUpdate("t", "r", 1, seq, parts, start, start + 60_000, List.of());
    }

    private static List<Long> seqs(List<RuleStream.Release> releases) {
        return releases.stream().map(RuleStream.Release::seq).toList();
    }

    @Test
    void releasesReadsInSequenceOrderOnceAllTheirPartsArrived() {
        RuleStream stream = new RuleStream(100, 60_000, 2_000);
        assertEquals(List.of(5L), seqs(stream.offer(part(5, 1, 0), 0)));
        assertEquals(List.of(), seqs(stream.offer(part(7, 1, 0), 10)), "7 waits for 6");
        assertEquals(List.of(), seqs(stream.offer(part(6, 2, 0), 20)), "6 has one of two parts");
        List<RuleStream.Release> released = stream.offer(part(6, 2, 60_000), 30);
        assertEquals(List.of(6L, 7L), seqs(released));
        assertEquals(2, released.getFirst().windows().size());
        assertEquals(List.of(), seqs(stream.offer(part(6, 2, 0), 40)), "a re-sent record of a released read is dropped");
    }

    @Test
    void aSequenceThatNeverComesIsSkippedAfterTheGapWaitAndBreaksTheHistory() {
        RuleStream stream = new RuleStream(100, 60_000, 2_000);
        stream.remember(true);
        stream.offer(part(1, 1, 0), 0);
        stream.offer(part(3, 1, 0), 100);
        assertEquals(List.of(), seqs(stream.tick(2_000)), "still inside the gap wait");
        assertEquals(List.of(3L), seqs(stream.tick(2_100)));
        assertTrue(stream.since(1, 2_100).isEmpty(), "a resume across the gap cannot be served");
        assertEquals(List.of(), stream.since(3, 2_100).orElseThrow());
    }

    @Test
    void historyServesResumesWhileItHoldsEveryLaterRead() {
        RuleStream stream = new RuleStream(3, 60_000, 2_000);
        stream.remember(true);
        for (long s = 10; s <= 14; s++) {
            stream.offer(part(s, 1, 0), s);
        }
        assertEquals(List.of(13L, 14L), seqs(stream.since(12, 20).orElseThrow()));
        assertEquals(List.of(12L, 13L, 14L), seqs(stream.since(11, 20).orElseThrow()));
        assertTrue(stream.since(10, 20).isEmpty(), "11 fell out of the 3-read history");
        assertTrue(stream.since(15, 20).isEmpty(), "a sequence not released yet");
        assertTrue(stream.since(12, 70_000).isEmpty(), "too old");
    }

    @Test
    void aRuleNobodyWatchesKeepsNoHistory() {
        RuleStream stream = new RuleStream(100, 60_000, 2_000);
        stream.offer(part(1, 1, 0), 0);
        stream.offer(part(2, 1, 0), 1);
        assertEquals(2, stream.lastReleased(), "reads are still put in order");
        assertTrue(stream.since(1, 2).isEmpty(), "but not kept");
        stream.remember(true);
        stream.offer(part(3, 1, 0), 3);
        assertEquals(List.of(3L), seqs(stream.since(2, 4).orElseThrow()));
    }
}
