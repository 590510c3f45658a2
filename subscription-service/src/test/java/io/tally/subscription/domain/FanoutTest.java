package io.tally.subscription.domain;

import io.tally.model.RuleChange;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FanoutTest {

    private final AtomicLong clock = new AtomicLong(1_000);
    private final AtomicLong seq = new AtomicLong();
    private final AtomicInteger renders = new AtomicInteger();
    private final List<List<Long>> reads = new ArrayList<>();
    private final List<Subscription> dirty = new ArrayList<>();
    private final Deque<Runnable> tasks = new ArrayDeque<>();
    private Runnable duringRead = () -> { };
    private int failures;

    /** A store whose windows hold the rule's sequence at the time of the read; GB matches no group. */
    private final Fanout.Source source = (tenant, ruleId, starts) -> {
        reads.add(starts);
        Runnable hook = duringRead;
        duringRead = () -> { };
        hook.run();
        if (failures > 0) {
            failures--;
            throw new IllegalStateException("store away");
        }
        long at = seq.get();
        return new Fanout.Read() {
            @Override
            public long seq() {
                return at;
            }

            @Override
            public int ruleVersion() {
                return 1;
            }

            @Override
            public List<Subscription.Rendered> render(Map<String, String> filter) {
                renders.incrementAndGet();
                if (filter.equals(Map.of("geo", "GB"))) {
                    return List.of();
                }
                return starts.stream().map(s -> new Subscription.Rendered(s, "{\"start\":" + s + ",\"seq\":" + at + "}")).toList();
            }
        };
    };

    private final Fanout fanout = new Fanout(source, tasks::add, 60_000, 3, 0, dirty::add, clock::get);

    private void change(String rule, Long... windows) {
        fanout.offer(new RuleChange("t", rule, 1, seq.incrementAndGet(), List.of(windows)));
    }

    private void runReaders() {
        while (!tasks.isEmpty()) {
            tasks.poll().run();
        }
    }

    private Subscription live(String id, String rule, Map<String, String> filter, SubscriptionTest.FakeSink sink) {
        Subscription s = new Subscription("t", id, null, sink, new Subscription.Pacing(0, 1 << 20, 30_000), 1);
        Subscription.Part part = s.addPart(rule, filter, 1);
        assertFalse(fanout.attach(part, -1, -1));
        s.deliverSnapshot(new long[] {seq.get()}, new long[] {fanout.mark("t", rule)}, new int[] {1}, ",\"windows\":[]}", clock.get());
        return s;
    }

    @Test
    void aChangeIsReadOnceRenderedOncePerFilterAndReachesOnlyItsRulesSubscribers() {
        SubscriptionTest.FakeSink sink = new SubscriptionTest.FakeSink();
        Subscription all1 = live("a", "r1", Map.of(), sink);
        Subscription all2 = live("b", "r1", Map.of(), sink);
        Subscription us = live("c", "r1", Map.of("geo", "US"), sink);
        Subscription gb = live("d", "r1", Map.of("geo", "GB"), sink);
        Subscription other = live("e", "r2", Map.of(), sink);
        change("r1", 0L);
        change("unwatched", 0L);
        runReaders();
        assertEquals(List.of(List.of(0L)), reads, "one read, and none for a rule nobody watches");
        assertEquals(3, renders.get(), "three distinct filters, five subscribers");
        assertEquals(List.of(all1, all2, us), dirty, "GB has no matching group; r2's subscriber is not touched");
        fanout.detach(all2);
        dirty.clear();
        change("r1", 60L);
        runReaders();
        assertEquals(List.of(all1, us), dirty);
        assertEquals(1, other.version(), "only its snapshot");
        assertEquals(1, gb.version());
    }

    @Test
    void changesAnnouncedWhileARuleIsReadAreReadTogetherNext() {
        SubscriptionTest.FakeSink sink = new SubscriptionTest.FakeSink();
        Subscription s = live("a", "r1", Map.of(), sink);
        change("r1", 0L);
        change("r1", 60L);
        assertEquals(1, tasks.size(), "one reader per rule");
        duringRead = () -> {
            change("r1", 120L);
            change("r1", 120L, 180L);
        };
        runReaders();
        assertEquals(List.of(List.of(0L, 60L), List.of(120L, 180L)), reads);
        s.flush(clock.get());
        assertEquals("{\"type\":\"update\",\"id\":\"a\",\"version\":2,\"windows\":[{\"start\":0,\"seq\":4},{\"start\":60,\"seq\":4},"
            + "{\"start\":120,\"seq\":4},{\"start\":180,\"seq\":4}]}", sink.sent.getLast());
    }

    @Test
    void aFailedReadIsTriedAgainWithTheSameWindows() {
        SubscriptionTest.FakeSink sink = new SubscriptionTest.FakeSink();
        Subscription s = live("a", "r1", Map.of(), sink);
        failures = 2;
        change("r1", 0L);
        runReaders();
        assertEquals(List.of(List.of(0L), List.of(0L), List.of(0L)), reads);
        s.flush(clock.get());
        assertEquals("{\"type\":\"update\",\"id\":\"a\",\"version\":2,\"windows\":[{\"start\":0,\"seq\":1}]}", sink.sent.getLast());
    }

    @Test
    void aResumeGetsTheWindowsChangedAfterItsLastMessageAndOnlyThose() {
        SubscriptionTest.FakeSink sink = new SubscriptionTest.FakeSink();
        Subscription watcher = live("w", "r1", Map.of(), sink); // keeps r1's announcements
        change("r1", 0L);
        long mark = fanout.mark("t", "r1");
        long seqAtMark = seq.get();
        change("r1", 60L);
        change("r1", 120L);
        runReaders();
        reads.clear();
        watcher.flush(clock.get());
        int watcherMessages = sink.sent.size();

        Subscription resumed = new Subscription("t", "x", null, sink, new Subscription.Pacing(0, 1 << 20, 30_000), 9);
        assertTrue(fanout.attach(resumed.addPart("r1", Map.of(), 1), mark, seqAtMark));
        assertFalse(resumed.resumed(), "its windows are still to be read");
        runReaders();
        assertEquals(List.of(List.of(60L, 120L)), reads, "the windows announced after its mark");
        assertEquals(List.of(resumed), dirty.subList(dirty.size() - 1, dirty.size()));
        resumed.flush(clock.get());
        assertEquals("{\"type\":\"update\",\"id\":\"x\",\"version\":9,\"windows\":[{\"start\":60,\"seq\":3},{\"start\":120,\"seq\":3}]}",
            sink.sent.getLast());
        watcher.flush(clock.get());
        assertEquals(watcherMessages + 1, sink.sent.size(), "the watcher had those windows already: nothing new for it");

        Subscription ahead = new Subscription("t", "y", null, sink, new Subscription.Pacing(0, 1 << 20, 30_000), 9);
        assertFalse(fanout.attach(ahead.addPart("r1", Map.of(), 1), fanout.mark("t", "r1") + 1, 99), "a mark this instance never gave: snapshot");
        change("r1", 0L); // the history holds 3: the first announcement is forgotten
        Subscription old = new Subscription("t", "z", null, sink, new Subscription.Pacing(0, 1 << 20, 30_000), 9);
        assertFalse(fanout.attach(old.addPart("r1", Map.of(), 1), mark - 1, 0), "no longer held: snapshot");
    }

    @Test
    void aRuleNobodyWatchedRecentlyKeepsNoHistory() {
        change("r1", 0L);
        long mark = fanout.mark("t", "r1");
        change("r1", 60L);
        Subscription s = new Subscription("t", "x", null, new SubscriptionTest.FakeSink(), new Subscription.Pacing(0, 1 << 20, 30_000), 5);
        assertFalse(fanout.attach(s.addPart("r1", Map.of(), 1), mark, 1));
        assertTrue(reads.isEmpty());
    }
}
