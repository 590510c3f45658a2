package io.tally.query.persistence;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisAdvancedClusterAsyncCommands;
import io.tally.model.StateKeys;
import io.tally.model.Topics;
import io.tally.results.RawWindow;
import io.tally.results.RuleView;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Reads a rule's windows from Redis Cluster in two pipelined round trips (window hashes, then the
 * distinct counts), plus the tenant's watermarks and late count. Reads go to the masters (Lettuce's
 * default), so a reader never sees a counter lower than one it saw before. A circuit breaker answers
 * at once while Redis is failing.
 */
@Singleton
public class StateReader {

    private static final Logger LOG = LoggerFactory.getLogger(StateReader.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    /** A rule's stored results. */
    public record Snapshot(List<RawWindow> windows, Long watermark, long lateEvents) {
    }

    private final Provider<StatefulRedisClusterConnection<String, String>> connection;
    private final CircuitBreaker breaker = CircuitBreaker.of("redis-reads", CircuitBreakerConfig.custom()
        .slidingWindowSize(20).minimumNumberOfCalls(5).failureRateThreshold(50)
        .waitDurationInOpenState(Duration.ofSeconds(5)).permittedNumberOfCallsInHalfOpenState(2)
        .automaticTransitionFromOpenToHalfOpenEnabled(true)
        .build());

    public StateReader(Provider<StatefulRedisClusterConnection<String, String>> connection) {
        this.connection = connection;
        breaker.getEventPublisher().onStateTransition(e -> LOG.warn("Redis read circuit breaker {}", e.getStateTransition()));
    }

    /** Reads the given windows; throws {@link StateUnavailableException} when Redis cannot answer. */
    public Snapshot read(RuleView rule, List<Long> starts) {
        try {
            return breaker.executeSupplier(() -> readNow(rule, starts));
        } catch (CallNotPermittedException e) {
            throw new StateUnavailableException("reads are paused after repeated Redis failures", e);
        }
    }

    private Snapshot readNow(RuleView rule, List<Long> starts) {
        RedisAdvancedClusterAsyncCommands<String, String> redis;
        try {
            redis = connection.get().async();
        } catch (RuntimeException e) {
            throw new StateUnavailableException("Redis Cluster is unreachable", e);
        }
        Map<Long, RedisFuture<Map<String, String>>> hashes = new LinkedHashMap<>();
        for (long start : starts) {
            hashes.put(start, redis.hgetall(StateKeys.window(rule.tenant(), rule.id(), rule.version(), start)));
        }
        List<RedisFuture<String>> watermarks = new ArrayList<>();
        for (int p = 0; p < Topics.EVENT_PARTITIONS; p++) {
            watermarks.add(redis.hget(StateKeys.watermarks(p), rule.tenant()));
        }
        RedisFuture<String> late = redis.hget(StateKeys.meta(rule.tenant(), rule.id()), "late");

        List<String> distinctOps = rule.ops().stream().filter(o -> o.kind().equals("distinct")).map(RuleView.Op::name).toList();
        Map<Long, Map<String, String>> fields = new LinkedHashMap<>();
        Map<Long, Map<String, RedisFuture<Long>>> counts = new HashMap<>();
        String sep = String.valueOf(StateKeys.SEP);
        for (var e : hashes.entrySet()) {
            Map<String, String> hash = await(e.getValue());
            if (hash.isEmpty()) {
                continue;
            }
            fields.put(e.getKey(), hash);
            if (!distinctOps.isEmpty()) {
                Map<String, RedisFuture<Long>> pending = new HashMap<>();
                for (String field : hash.keySet()) {
                    if (field.endsWith(sep)) { // a group's presence field
                        String group = field.substring(0, field.length() - 1);
                        for (String op : distinctOps) {
                            pending.put(group + sep + op, redis.pfcount(StateKeys.distinct(rule.tenant(), rule.id(), rule.version(), e.getKey(), group, op)));
                        }
                    }
                }
                counts.put(e.getKey(), pending);
            }
        }
        List<RawWindow> windows = new ArrayList<>();
        for (var e : fields.entrySet()) {
            Map<String, Long> distinct = new HashMap<>();
            counts.getOrDefault(e.getKey(), Map.of()).forEach((k, f) -> distinct.put(k, await(f)));
            windows.add(new RawWindow(e.getKey(), e.getValue(), distinct));
        }
        // The rule's watermark: the lowest of the partitions that have seen the tenant.
        Long watermark = null;
        for (RedisFuture<String> wm : watermarks) {
            String v = await(wm);
            if (v != null) {
                long value = Long.parseLong(v);
                watermark = watermark == null ? value : Math.min(watermark, value);
            }
        }
        String lateValue = await(late);
        return new Snapshot(windows, watermark, lateValue == null ? 0 : Long.parseLong(lateValue));
    }

    private static <T> T await(RedisFuture<T> future) {
        try {
            return future.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StateUnavailableException("interrupted", e);
        } catch (Exception e) {
            throw new StateUnavailableException("Redis did not answer: " + e.getMessage(), e);
        }
    }
}
