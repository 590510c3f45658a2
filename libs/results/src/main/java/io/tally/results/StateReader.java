package io.tally.results;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisAdvancedClusterAsyncCommands;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tally.model.StateKeys;
import io.tally.model.Topics;
import io.tally.rule.RuleSpec;
import io.tally.telemetry.Observed;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * Reads a rule's windows from Redis Cluster for queries and subscription snapshots: per shard of the rule
 * ({@link RuleShards}), one atomic script for the windows, their distinct counts, the late count, the update sequence
 * and the finality mark with its watermark ({@link RuleState}), the shards merged. Reads go to the
 * masters (Lettuce's default), so a reader never sees a counter lower than one it saw before. A
 * circuit breaker answers at once while Redis is failing.
 */
public class StateReader {

    private static final Logger LOG = LoggerFactory.getLogger(StateReader.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    /**
     * A rule's stored results; {@code seq} is the rule's update sequence the windows were read at,
     * {@code closedUpTo} what decides which windows are final ({@link RuleSpec#isFinal}).
     */
    public record Snapshot(List<RawWindow> windows, Long watermark, long lateEvents, long seq, Long closedUpTo) {

        public static Snapshot empty() {
            return new Snapshot(List.of(), null, 0, 0, null);
        }
    }

    private final Supplier<StatefulRedisClusterConnection<String, String>> connection;
    private final RuleState.Budget budget;
    // A read too large for its budget is the reader's problem, not Redis's: it never counts against the breaker.
    private static final CircuitBreakerConfig BREAKER = CircuitBreakerConfig.custom()
        .slidingWindowSize(20).minimumNumberOfCalls(5).failureRateThreshold(50)
        .waitDurationInOpenState(Duration.ofSeconds(2)).permittedNumberOfCallsInHalfOpenState(2)
        .automaticTransitionFromOpenToHalfOpenEnabled(true)
        .ignoreExceptions(RuleState.ReadTooLarge.class)
        .build();
    private final CircuitBreaker breaker;
    /** Per rule version kept in several shards: the newest sequence of each shard this reader returned. */
    private final Cache<String, long[]> newest = Caffeine.newBuilder().maximumSize(100_000).expireAfterAccess(Duration.ofMinutes(10)).build();
    /** Times each read's scripts (from the registry's clock); a plain reader's timer belongs to no registry anyone reads. */
    private final Timer scripts;

    /** A reader with the default budget ({@link #DEFAULT_BUDGET}). */
    public StateReader(Supplier<StatefulRedisClusterConnection<String, String>> connection) {
        this(connection, DEFAULT_BUDGET);
    }

    /**
     * Values one read script takes at most before the rest is read by the next (20,000: ~10-30 ms of a Redis master),
     * and values one read may hold (200,000: one window of a rule at the default groups quota with its aggregations).
     */
    public static final RuleState.Budget DEFAULT_BUDGET = new RuleState.Budget(20_000, 200_000);

    /**
     * @param connection connects on first use (and again after a failure to connect)
     * @param budget     what one read may take ({@link RuleState.Budget})
     */
    public StateReader(Supplier<StatefulRedisClusterConnection<String, String>> connection, RuleState.Budget budget) {
        this(connection, budget, CircuitBreaker::of, Timer.builder("tally.redis.script").register(new SimpleMeterRegistry()));
    }

    /**
     * A reader whose breaker ("redis-reads") and read scripts are metrics: {@code resilience4j_circuitbreaker_*} and
     * {@code tally_redis_script_seconds{script="read"}} (from the first read script sent to the last reply of a read).
     */
    public static StateReader observed(Supplier<StatefulRedisClusterConnection<String, String>> connection, RuleState.Budget budget,
                                       MeterRegistry meters) {
        Timer scripts = Timer.builder("tally.redis.script").description("From sending a read's scripts to their last reply")
            .tag("script", "read").publishPercentileHistogram().register(meters);
        return new StateReader(connection, budget, (name, config) -> Observed.breaker(meters, name, config), scripts);
    }

    private StateReader(Supplier<StatefulRedisClusterConnection<String, String>> connection, RuleState.Budget budget,
                        BiFunction<String, CircuitBreakerConfig, CircuitBreaker> breakers, Timer scripts) {
        this.connection = connection;
        this.budget = budget;
        this.scripts = scripts;
        this.breaker = breakers.apply("redis-reads", BREAKER);
        breaker.getEventPublisher().onStateTransition(e -> LOG.warn("Redis read circuit breaker {}", e.getStateTransition()));
    }

    /** Whether reads are going to Redis (false while the breaker holds them back after repeated failures). */
    public boolean available() {
        return breaker.getState() != CircuitBreaker.State.OPEN && breaker.getState() != CircuitBreaker.State.FORCED_OPEN;
    }

    /** The read breaker's state, for readiness details. */
    public String breakerState() {
        return breaker.getState().name();
    }

    /**
     * Reads the given windows; throws {@link StateUnavailableException} when Redis cannot answer, {@link RuleState.ReadTooLarge}
     * when they hold more than the reader's budget allows.
     */
    public Snapshot read(RuleSpec rule, List<Long> starts) {
        try {
            return breaker.executeSupplier(() -> readNow(rule, starts));
        } catch (CallNotPermittedException e) {
            throw new StateUnavailableException("reads are paused after repeated Redis failures", e);
        }
    }

    private Snapshot readNow(RuleSpec rule, List<Long> starts) {
        RedisAdvancedClusterAsyncCommands<String, String> redis;
        try {
            redis = connection.get().async();
        } catch (RuntimeException e) {
            throw new StateUnavailableException("Redis Cluster is unreachable", e);
        }
        RuleState read = scripts.record(() -> readShards(redis, rule, starts));
        // The finality watermark, read with the mark that decides 'final', so the two always agree; only before the
        // aggregation first closed the rule are the partitions asked (the lowest of those that have seen the tenant).
        Long watermark = read.watermark() != null ? read.watermark() : lowestPartitionWatermark(redis, rule.tenant());
        return new Snapshot(read.windows(), watermark, read.lateEvents(), read.seq(), read.closedUpTo());
    }

    /** Rereads of shards behind what this reader returned before, at most, before a read gives up on them (a failover lost writes). */
    private static final int CATCH_UP_TRIES = 3;

    /**
     * Reads every shard of the rule (pipelined: each on its own master) and merges them. Each shard is read atomically
     * with its update sequence; the read's sequence is their sum. Reads of one reader never go back: the newest
     * sequences it returned per shard are kept, and a shard read below them (a read that overtook another one in
     * flight) is read again, so everything one reader returns is ordered shard by shard, and a higher sum means
     * newer values in every shard.
     */
    private RuleState readShards(RedisAdvancedClusterAsyncCommands<String, String> redis, RuleSpec rule, List<Long> starts) {
        int shards = rule.shards();
        List<String> tags = RuleShards.tags(rule.tenant(), rule.stateId(), shards);
        List<CompletableFuture<RuleState>> pending = new ArrayList<>(shards);
        for (String tag : tags) {
            pending.add(RuleState.read(redis, rule, tag, starts, budget));
        }
        RuleState[] read = new RuleState[shards];
        for (int s = 0; s < shards; s++) {
            read[s] = await(pending.get(s));
        }
        if (shards == 1) {
            return read[0];
        }
        long[] newest = this.newest.get(rule.tenant() + ":" + rule.stateId() + ":v" + rule.keyVersion(), k -> new long[shards]);
        for (int attempt = 0; ; attempt++) {
            List<Integer> behind = new ArrayList<>();
            synchronized (newest) {
                for (int s = 0; s < shards; s++) {
                    if (read[s].seq() < newest[s]) {
                        behind.add(s);
                    }
                }
                if (behind.isEmpty() || attempt == CATCH_UP_TRIES) {
                    for (int s = 0; s < shards; s++) {
                        newest[s] = Math.max(newest[s], read[s].seq());
                    }
                    break;
                }
            }
            List<CompletableFuture<RuleState>> again = behind.stream().map(s -> RuleState.read(redis, rule, tags.get(s), starts, budget)).toList();
            for (int i = 0; i < behind.size(); i++) {
                read[behind.get(i)] = await(again.get(i));
            }
        }
        return merge(rule, starts.size(), read);
    }

    /** The shards' reads as one: windows merged, late events and sequences added up, the lowest finality mark of them. */
    private RuleState merge(RuleSpec rule, int windows, RuleState[] shards) {
        Map<Long, RawWindow> byStart = new TreeMap<>();
        long seq = 0;
        long late = 0;
        Long closedUpTo = shards[0].closedUpTo();
        Long watermark = shards[0].watermark();
        long values = 0;
        for (RuleState shard : shards) {
            seq += shard.seq();
            late += shard.lateEvents();
            closedUpTo = closedUpTo == null || shard.closedUpTo() == null ? null : Math.min(closedUpTo, shard.closedUpTo());
            watermark = watermark == null || shard.watermark() == null ? null : Math.min(watermark, shard.watermark());
            for (RawWindow w : shard.windows()) {
                byStart.merge(w.start(), w, (a, b) -> a.merge(b, rule));
                values += w.values();
            }
        }
        if (budget.perRead() > 0 && values > budget.perRead()) {
            throw new RuleState.ReadTooLarge(values, windows, windows, budget.perRead());
        }
        return new RuleState(seq, late, closedUpTo, watermark, List.copyOf(byStart.values()));
    }

    private static Long lowestPartitionWatermark(RedisAdvancedClusterAsyncCommands<String, String> redis, String tenant) {
        List<RedisFuture<String>> watermarks = new ArrayList<>();
        for (int p = 0; p < Topics.EVENT_PARTITIONS; p++) {
            watermarks.add(redis.hget(StateKeys.watermarks(p), tenant));
        }
        Long watermark = null;
        for (RedisFuture<String> wm : watermarks) {
            String v = await(wm.toCompletableFuture());
            if (v != null) {
                long value = Long.parseLong(v);
                watermark = watermark == null ? value : Math.min(watermark, value);
            }
        }
        return watermark;
    }

    private static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StateUnavailableException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuleState.ReadTooLarge tooLarge) {
                throw tooLarge;
            }
            throw new StateUnavailableException("Redis did not answer: " + e.getMessage(), e);
        } catch (Exception e) {
            throw new StateUnavailableException("Redis did not answer: " + e.getMessage(), e);
        }
    }
}
