package io.tally.subscription.domain;

import io.tally.model.WindowUpdate;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FanoutTest {

    private final AtomicLong clock = new AtomicLong(1_000);
    private final AtomicInteger renders = new AtomicInteger();
    private final List<Subscription> dirty = new ArrayList<>();
    private final Fanout fanout = new Fanout(r -> new RuleStream(100, 60_000, 2_000), 60_000, (w, filter) -> {
        renders.incrementAndGet();
        return filter.isEmpty() || filter.equals(Map.of("geo", "US")) ? "{\"seq\":" + w.seq() + "}" : null;
    }, dirty::add, clock::get);

    private static WindowUpdate update(String rule, long seq) {
        return new WindowUpdate("t", rule, 1, seq, 1, 0, 60_000, List.of());
    }

    private Subscription live(String id, String rule, Map<String, String> filter, SubscriptionTest.FakeSink sink) {
        Subscription s = new Subscription("t", id, null, sink, new Subscription.Pacing(0, 1 << 20, 30_000), 1);
        Subscription.Part part = s.addPart(rule, filter, 1);
        assertFalse(fanout.attach(part, -1));
        s.deliverSnapshot(new long[] {0}, new int[] {1}, ",\"windows\":[]}", clock.get());
        return s;
    }

    @Test
    void aChangeIsRenderedOncePerFilterAndReachesOnlyItsRulesSubscribers() {
        SubscriptionTest.FakeSink sink = new SubscriptionTest.FakeSink();
        Subscription all1 = live("a", "r1", Map.of(), sink);
        Subscription all2 = live("b", "r1", Map.of(), sink);
        Subscription us = live("c", "r1", Map.of("geo", "US"), sink);
        Subscription gb = live("d", "r1", Map.of("geo", "GB"), sink);
        Subscription other = live("e", "r2", Map.of(), sink);
        fanout.offer(update("r1", 1));
        assertEquals(3, renders.get(), "three distinct filters, five subscribers");
        assertEquals(List.of(all1, all2, us), dirty, "GB has no matching group; r2's subscriber is not touched");
        fanout.detach(all2);
        dirty.clear();
        fanout.offer(update("r1", 2));
        assertEquals(List.of(all1, us), dirty);
        assertEquals(1, other.version(), "only its snapshot");
        assertEquals(1, gb.version());
    }

    @Test
    void aResumeIsServedFromTheHistoryWithoutAGap() {
        SubscriptionTest.FakeSink sink = new SubscriptionTest.FakeSink();
        Subscription watcher = live("w", "r1", Map.of(), sink); // keeps r1's history
        for (long seq = 1; seq <= 5; seq++) {
            fanout.offer(update("r1", seq));
        }
        Subscription resumed = new Subscription("t", "x", null, sink, new Subscription.Pacing(0, 1 << 20, 30_000), 9);
        Subscription.Part part = resumed.addPart("r1", Map.of(), 1);
        assertTrue(fanout.attach(part, 3));
        assertTrue(resumed.resumed());
        resumed.flush(clock.get());
        assertEquals("{\"type\":\"update\",\"id\":\"x\",\"version\":9,\"windows\":[{\"seq\":5}]}", sink.sent.getLast());
        Subscription ahead = new Subscription("t", "y", null, sink, new Subscription.Pacing(0, 1 << 20, 30_000), 9);
        assertFalse(fanout.attach(ahead.addPart("r1", Map.of(), 1), 6), "a sequence this instance has not released: snapshot");
        assertEquals(1, watcher.version());
    }
}
