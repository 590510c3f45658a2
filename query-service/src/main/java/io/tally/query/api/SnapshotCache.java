package io.tally.query.api;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.tally.model.TimeSource;
import io.tally.rule.RuleSpec;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Supplier;

/**
 * Reads of one rule version's same windows within {@code ttl} share one read of the state store, and so do reads
 * asked for at the same time (dashboards polling together cost one Redis read). A failed read is not kept.
 *
 * @param <V> what a read returns
 */
final class SnapshotCache<V> {

    private final AsyncCache<String, V> cache;

    SnapshotCache(Duration ttl, TimeSource time) {
        this(ttl, time, ForkJoinPool.commonPool());
    }

    /** @param executor runs the reads and the cache's upkeep (a test passes {@code Runnable::run} to see them done at once) */
    SnapshotCache(Duration ttl, TimeSource time, Executor executor) {
        this.cache = Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(10_000).ticker(time::nanos).executor(executor).buildAsync();
    }

    /** The read of these windows of the rule, from the cache or by {@code read}; a failure as a {@code CompletionException}. */
    V get(RuleSpec rule, List<Long> starts, Supplier<V> read) {
        return cache.get(key(rule, starts), (k, executor) -> CompletableFuture.supplyAsync(read, executor)).join();
    }

    static String key(RuleSpec rule, List<Long> starts) {
        return rule.tenant() + "|" + rule.stateId() + "|" + rule.keyVersion() + "|" + starts.getFirst() + "|" + starts.getLast() + "|" + starts.size();
    }
}
