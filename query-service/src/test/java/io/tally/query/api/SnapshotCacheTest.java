package io.tally.query.api;

import io.tally.model.ManualTime;
import io.tally.model.RuleRecord;
import io.tally.rule.RuleSpec;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SnapshotCacheTest {

    private final ManualTime time = new ManualTime(Instant.parse("2026-12-07T10:00:00Z"));
    /** Reads and upkeep on the calling thread: a read's write time is taken before the test moves the clock. */
    private final SnapshotCache<String> cache = new SnapshotCache<>(Duration.ofMillis(25), time, Runnable::run);
    private final AtomicInteger reads = new AtomicInteger();

    private static RuleSpec rule(int version) {
        return RuleSpec.of(new RuleRecord("acme", "r", version, null, null, null, List.of(new RuleRecord.Aggregation("n", "count", null, null)),
            new RuleRecord.Window("PT1M", null), null, null));
    }

    private String read() {
        return "read " + reads.incrementAndGet();
    }

    @Test
    void theSameWindowsWithinTheTtlAreReadOnce() {
        List<Long> starts = List.of(0L, 60_000L);
        assertEquals("read 1", cache.get(rule(1), starts, this::read));
        time.advance(Duration.ofMillis(24));
        assertEquals("read 1", cache.get(rule(1), starts, this::read));
        time.advance(Duration.ofMillis(1));
        assertEquals("read 2", cache.get(rule(1), starts, this::read), "read again once the TTL passed");
    }

    @Test
    void anotherVersionOrOtherWindowsAreAnotherRead() {
        assertEquals("read 1", cache.get(rule(1), List.of(0L, 60_000L), this::read));
        assertEquals("read 2", cache.get(rule(2), List.of(0L, 60_000L), this::read));
        assertEquals("read 3", cache.get(rule(1), List.of(60_000L), this::read));
        assertNotEquals(SnapshotCache.key(rule(1), List.of(0L, 120_000L)), SnapshotCache.key(rule(1), List.of(0L, 60_000L, 120_000L)));
    }

    @Test
    void aFailedReadIsNotKept() {
        assertThrows(CompletionException.class, () -> cache.get(rule(1), List.of(0L), () -> {
            throw new IllegalStateException("Redis is away");
        }));
        assertEquals("read 1", cache.get(rule(1), List.of(0L), this::read));
    }

    @Test
    void readsAskedForTogetherShareOne() throws Exception {
        CountDownLatch reading = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> cache.get(rule(1), List.of(0L), () -> {
            reading.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return read();
        }));
        assertTrue(reading.await(10, TimeUnit.SECONDS));
        CompletableFuture<String> second = CompletableFuture.supplyAsync(() -> cache.get(rule(1), List.of(0L), this::read));
        release.countDown();
        assertEquals("read 1", first.get(10, TimeUnit.SECONDS));
        assertEquals("read 1", second.get(10, TimeUnit.SECONDS));
        assertEquals(1, reads.get());
    }
}
