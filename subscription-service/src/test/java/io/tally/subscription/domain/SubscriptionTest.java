package io.tally.subscription.domain;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SubscriptionTest {

    static final class FakeSink implements Subscription.Sink {
        final List<String> sent = new ArrayList<>();
        long unsent;
        String closed;

        @Override
        public long unsentBytes() {
            return unsent;
        }

        @Override
        public void send(String text) {
            sent.add(text);
        }

        @Override
        public void close(int code, String reason) {
            closed = code + " " + reason;
        }
    }

    private static final Subscription.Pacing PACING = new Subscription.Pacing(50, 1000, 30_000);

    private static List<Subscription.Rendered> window(long start, long count) {
        return List.of(new Subscription.Rendered(start, "{\"start\":\"" + start + "\",\"count\":" + count + "}"));
    }

    @Test
    void updatesHeldDuringTheSnapshotAreDroppedWhenTheSnapshotIsNewer() {
        FakeSink sink = new FakeSink();
        Subscription s = new Subscription("t", "a", null, sink, PACING, 1);
        Subscription.Part part = s.addPart("r", Map.of(), 1);
        assertFalse(part.offer(4, 0, 1, window(0, 4)), "held, not sent, while the snapshot is read");
        part.offer(6, 1, 1, window(60, 1));
        assertTrue(s.deliverSnapshot(new long[] {5}, new long[] {1}, new int[] {1}, ",\"windows\":[]}", 0), "read 6 came after the snapshot");
        assertEquals("{\"type\":\"snapshot\",\"id\":\"a\",\"version\":1,\"windows\":[]}", sink.sent.getFirst());
        assertEquals(0, s.flush(100));
        assertEquals("{\"type\":\"update\",\"id\":\"a\",\"version\":2,\"windows\":[{\"start\":\"60\",\"count\":1}]}", sink.sent.get(1));
        assertFalse(part.offer(5, 1, 1, window(60, 1)), "a read older than one delivered");
        assertFalse(part.offer(7, 2, 2, window(60, 1)), "a read of another rule version");
        assertTrue(part.offer(6, 2, 1, window(120, 1)), "another window read at the same sequence: same values, still news");
    }

    @Test
    void changesWithinTheIntervalBecomeOneUpdateWithTheNewestValues() {
        FakeSink sink = new FakeSink();
        Subscription s = new Subscription("t", "a", null, sink, PACING, 1);
        Subscription.Part part = s.addPart("r", Map.of(), 1);
        s.deliverSnapshot(new long[] {0}, new long[] {0}, new int[] {1}, ",\"windows\":[]}", 1_000);
        for (long seq = 1; seq <= 100; seq++) {
            assertTrue(part.offer(seq, seq, 1, window(0, seq)));
            assertFalse(part.offer(seq - 1, seq, 1, window(0, seq - 1)), "an older read");
        }
        assertEquals(1_050, s.flush(1_010), "inside the interval: try again when it ends");
        assertEquals(0, s.flush(1_050));
        assertEquals(2, sink.sent.size());
        assertEquals("{\"type\":\"update\",\"id\":\"a\",\"version\":2,\"windows\":[{\"start\":\"0\",\"count\":100}]}", sink.sent.get(1));
        assertEquals(0, s.flush(2_000), "nothing pending");
        assertEquals(2, sink.sent.size());
    }

    @Test
    void aClientThatDoesNotReadGetsNothingMoreAndIsClosedWhenItStaysStuck() {
        FakeSink sink = new FakeSink();
        Subscription s = new Subscription("t", "a", null, sink, PACING, 1);
        Subscription.Part part = s.addPart("r", Map.of(), 1);
        s.deliverSnapshot(new long[] {0}, new long[] {0}, new int[] {1}, ",\"windows\":[]}", 0);
        sink.unsent = 5_000;
        part.offer(1, 1, 1, window(0, 1));
        assertTrue(s.flush(100) > 100, "buffer full: wait");
        part.offer(2, 2, 1, window(0, 2));
        s.flush(20_000);
        assertEquals(1, sink.sent.size(), "no backlog is built");
        sink.unsent = 0;
        s.flush(20_100);
        assertEquals("{\"type\":\"update\",\"id\":\"a\",\"version\":2,\"windows\":[{\"start\":\"0\",\"count\":2}]}", sink.sent.get(1));
        sink.unsent = 5_000;
        part.offer(3, 3, 1, window(0, 3));
        s.flush(30_000);
        s.flush(60_000);
        assertTrue(sink.closed.startsWith("1008 too slow"), sink.closed);
        assertEquals(Subscription.State.CLOSED, s.state());
    }

    @Test
    void versionsRememberThePositionsTheyReflected() {
        FakeSink sink = new FakeSink();
        Subscription s = new Subscription("t", "a", "dash", sink, PACING, 1);
        Subscription.Part p0 = s.addPart("r1", Map.of(), 1);
        Subscription.Part p1 = s.addPart("r2", Map.of("geo", "US"), 3);
        p1.offer(22, 9, 3, window(60, 1)); // read while the snapshot was: newer than it, so it waits
        s.deliverSnapshot(new long[] {10, 20}, new long[] {4, 7}, new int[] {1, 3}, ",\"windows\":[]}", 0);
        assertEquals(List.of(new Subscription.Position(10, 4), new Subscription.Position(20, 7)), List.of(s.positionsAt(1)),
            "the snapshot's own positions, not the waiting read's");
        p1.offer(23, 10, 3, window(0, 1));
        s.flush(100);
        assertEquals("{\"type\":\"update\",\"id\":\"a\",\"version\":2,\"windows\":[{\"query\":1,\"ruleId\":\"r2\",\"start\":\"0\",\"count\":1},"
            + "{\"query\":1,\"ruleId\":\"r2\",\"start\":\"60\",\"count\":1}]}", sink.sent.get(1));
        assertEquals(List.of(new Subscription.Position(10, 4), new Subscription.Position(23, 10)), List.of(s.positionsAt(2)));
        assertEquals(null, s.positionsAt(3));
        p0.offer(11, 5, 1, window(0, 1));
        assertEquals(List.of(new Subscription.Position(10, 4), new Subscription.Position(23, 10)), List.of(s.positionsAt(2)),
            "pending changes are not part of a sent version");
    }
}
