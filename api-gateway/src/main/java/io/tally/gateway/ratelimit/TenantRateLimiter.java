package io.tally.gateway.ratelimit;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.distributed.BucketProxy;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import io.github.bucket4j.distributed.proxy.optimization.Optimizations;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.tally.gateway.config.GatewayConfig;
import io.tally.model.TimeSource;
import io.tally.redis.TextKeysByteValues;
import io.tally.telemetry.Observed;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Per-tenant token buckets shared by every gateway replica through Redis Cluster (bucket4j, Lettuce,
 * compare-and-swap). Local layers keep a hot tenant off Redis without ever admitting more than the limit:
 * a gateway takes tokens from the shared bucket a small chunk ahead ({@link Reservation}: it serves the
 * following requests from that chunk and gives back what it did not use within a second), concurrent
 * requests for one bucket are batched into one round trip (bucket4j's batching optimization), and once Redis
 * said a bucket is empty the refusal is repeated locally until the refill time it named. Reserving can only
 * make another replica refuse a little early, never let a tenant exceed its rate. Redis unavailable: a
 * breaker stops trying at once, and the configured policy decides — fail-open (default) with a local bucket
 * per tenant and gateway, or fail-closed with 503s.
 */
@Singleton
public class TenantRateLimiter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TenantRateLimiter.class);

    private final Provider<RedisClusterClient> client;
    private final Limits limits;
    private final boolean failOpen;
    private final MeterRegistry meters;
    private final TimeSource time;
    /** Local buckets refill by {@link #time}, like everything else here. */
    private final TimeMeter meter;
    private final Counter allowedLocally;
    private final Counter refusedLocally;
    private final Counter refusedByRedis;
    private final CircuitBreaker redisBreaker;
    private final Map<String, BucketProxy> shared = new ConcurrentHashMap<>();
    private final Map<String, Bucket> local = new ConcurrentHashMap<>();
    /** Bucket key → the {@link TimeSource#nanos()} before which Redis already told us this bucket cannot serve. */
    private final Map<String, Long> emptyUntil = new ConcurrentHashMap<>();
    private final Map<String, Reservation> reservations = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sweeper =
        Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("rate-limit-returns").daemon().factory());
    private volatile StatefulRedisClusterConnection<String, byte[]> connection;
    private volatile ProxyManager<String> proxies;
    private volatile long lastFallbackLog;

    public TenantRateLimiter(Provider<RedisClusterClient> client, GatewayConfig config, MeterRegistry meters, TimeSource time) {
        this.client = client;
        this.time = time;
        this.meter = new TimeMeter() {
            @Override
            public long currentTimeNanos() {
                return time.nanos();
            }

            @Override
            public boolean isWallClockBased() {
                return false;
            }
        };
        this.limits = new Limits(new Limits.Limit(config.ingestRate(), config.ingestBurst()),
            new Limits.Limit(config.queryRate(), config.queryBurst()), new Limits.Limit(config.foldRate(), config.foldBurst()), config.tenantLimits());
        this.failOpen = config.rateLimitFailOpen();
        this.meters = meters;
        this.allowedLocally = meters.counter("tally.gateway.ratelimit", "result", "allowed-local");
        this.refusedLocally = meters.counter("tally.gateway.ratelimit", "result", "refused-local");
        this.refusedByRedis = meters.counter("tally.gateway.ratelimit", "result", "refused");
        this.redisBreaker = Observed.breaker(meters, "rate-limit-redis", CircuitBreakerConfig.custom()
            .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
            .slidingWindowSize(10)
            .minimumNumberOfCalls(3)
            .failureRateThreshold(50)
            .waitDurationInOpenState(Duration.ofSeconds(2))
            .permittedNumberOfCallsInHalfOpenState(1)
            .build());
        sweeper.scheduleWithFixedDelay(this::returnUnused, 500, 500, TimeUnit.MILLISECONDS);
    }

    /** Takes {@code tokens} from the tenant's bucket of that kind. */
    public Decision take(String tenant, Limits.Kind kind, long tokens) {
        Limits.Limit limit = limits.of(tenant, kind);
        String key = "{rl:" + tenant + "}:" + kind.name().toLowerCase(Locale.ROOT);
        Long until = emptyUntil.get(key);
        long now = time.nanos();
        if (until != null && now - until < 0 && tokens > 0) {
            refusedLocally.increment();
            return refused(limit, 0, until - now, "redis");
        }
        Reservation reservation = reservations.computeIfAbsent(key, k -> new Reservation(time::nanos));
        long fromReserve = reservation.take(tokens);
        if (fromReserve >= 0) {
            allowedLocally.increment();
            long remaining = Math.max(0, reservation.sharedRemaining) + fromReserve;
            return new Decision(true, limit.burst(), remaining, ceilDiv(limit.burst() - remaining, limit.rate()), 0, "redis");
        }
        try {
            long chunk = chunk(limit);
            BucketProxy bucket = redisBreaker.executeCallable(() -> sharedBucket(key, limit));
            ConsumptionProbe probe = redisBreaker.executeCallable(() -> bucket.tryConsumeAndReturnRemaining(tokens + chunk));
            if (probe.isConsumed()) {
                reservation.add(chunk, probe.getRemainingTokens());
                emptyUntil.remove(key);
                return allowed(limit, new Remaining(probe.getRemainingTokens() + chunk), "redis");
            }
            if (chunk > 0) {
                probe = redisBreaker.executeCallable(() -> bucket.tryConsumeAndReturnRemaining(tokens));
            }
            if (!probe.isConsumed()) {
                long wait = probe.getNanosToWaitForRefill();
                if (tokens <= limit.burst()) {
                    emptyUntil.put(key, now + wait);
                }
                refusedByRedis.increment();
                return refused(limit, probe.getRemainingTokens(), wait, "redis");
            }
            emptyUntil.remove(key);
            reservation.sharedRemaining = probe.getRemainingTokens();
            return allowed(limit, new Remaining(probe.getRemainingTokens()), "redis");
        } catch (Exception e) {
            return fallback(key, limit, tokens, e);
        }
    }

    /** What one bucket of a tenant holds now, without taking anything. */
    public record Headroom(long rate, long burst, long remaining, String source) {
    }

    /**
     * The tokens the tenant's bucket of that kind holds now (the shared bucket; the local one while Redis is away),
     * without taking any: one read, for the console's headroom view. {@code remaining} is -1 when it cannot be told.
     */
    public Headroom peek(String tenant, Limits.Kind kind) {
        Limits.Limit limit = limits.of(tenant, kind);
        String key = "{rl:" + tenant + "}:" + kind.name().toLowerCase(Locale.ROOT);
        try {
            BucketProxy bucket = redisBreaker.executeCallable(() -> sharedBucket(key, limit));
            long available = redisBreaker.executeCallable(bucket::getAvailableTokens);
            // Tokens this gateway took ahead and has not handed out are still the tenant's.
            Reservation reservation = reservations.get(key);
            long reserved = reservation == null ? 0 : reservation.unused();
            return new Headroom(limit.rate(), limit.burst(), Math.min(limit.burst(), available + reserved), "redis");
        } catch (Exception e) {
            Bucket fallback = local.get(key);
            return new Headroom(limit.rate(), limit.burst(), fallback == null ? (failOpen ? limit.burst() : -1)
                : Math.min(limit.burst(), fallback.getAvailableTokens()), failOpen ? "local" : "unavailable");
        }
    }

    /**
     * Charges {@code tokens} after the fact, whether the bucket holds them or not: what a request turned out to cost
     * beyond what it was admitted for (a read of many values). A bucket charged below empty is in debt, and the
     * tenant's next requests wait until it refilled. Never refuses and never throws.
     */
    public void charge(String tenant, Limits.Kind kind, long tokens) {
        if (tokens <= 0) {
            return;
        }
        Limits.Limit limit = limits.of(tenant, kind);
        String key = "{rl:" + tenant + "}:" + kind.name().toLowerCase(Locale.ROOT);
        meters.counter("tally.gateway.ratelimit.charged", "bucket", kind.name().toLowerCase(Locale.ROOT)).increment(tokens);
        try {
            BucketProxy bucket = redisBreaker.executeCallable(() -> sharedBucket(key, limit));
            long penalty = redisBreaker.executeCallable(() -> bucket.consumeIgnoringRateLimits(tokens));
            if (penalty > 0) {
                emptyUntil.put(key, time.nanos() + penalty);
            }
        } catch (Exception e) {
            if (failOpen) {
                local.computeIfAbsent(key, k -> Bucket.builder()
                    .addLimit(l -> l.capacity(limit.burst()).refillGreedy(limit.rate(), Duration.ofSeconds(1))).withCustomTimePrecision(meter).build())
                    .consumeIgnoringRateLimits(tokens);
            }
        }
    }

    private Decision fallback(String key, Limits.Limit limit, long tokens, Exception e) {
        meters.counter("tally.gateway.ratelimit.redis.failures", "policy", failOpen ? "fail-open" : "fail-closed").increment();
        long now = time.millis();
        if (now - lastFallbackLog > 10_000) {
            lastFallbackLog = now;
            LOG.warn("rate limits: Redis unavailable ({}); {}", e instanceof CallNotPermittedException ? "breaker open" : e.toString(),
                failOpen ? "fail-open: limiting with a local bucket per gateway until it returns"
                    : "fail-closed: answering 503 until it returns");
        }
        if (!failOpen) {
            return new Decision(false, limit.burst(), 0, 0, 2, "unavailable");
        }
        Bucket bucket = local.computeIfAbsent(key, k -> Bucket.builder()
            .addLimit(l -> l.capacity(limit.burst()).refillGreedy(limit.rate(), Duration.ofSeconds(1))).withCustomTimePrecision(meter).build());
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(tokens);
        return probe.isConsumed() ? allowed(limit, new Remaining(probe.getRemainingTokens()), "local")
            : refused(limit, probe.getRemainingTokens(), probe.getNanosToWaitForRefill(), "local");
    }

    private record Remaining(long tokens) {
    }

    /** Tokens taken ahead from the shared bucket: a tenth of a second of the rate, at most a tenth of the burst. */
    static long chunk(Limits.Limit limit) {
        return Math.max(0, Math.min(limit.rate() / 10, limit.burst() / 10));
    }

    /**
     * Tokens this gateway already took from the shared bucket and has not handed out yet. What is not used
     * within {@link #RESERVATION_TTL_NANOS} is given back to the shared bucket.
     */
    static final class Reservation {
        private final LongSupplier nanos;
        private long tokens;
        private long since;
        volatile long sharedRemaining;

        Reservation(LongSupplier nanos) {
            this.nanos = nanos;
        }

        /** Hands out {@code n} reserved tokens and returns how many stay reserved, or -1 when there are not enough. */
        synchronized long take(long n) {
            if (tokens >= n && nanos.getAsLong() - since < RESERVATION_TTL_NANOS) {
                tokens -= n;
                return tokens;
            }
            return -1;
        }

        /** Reserved tokens not handed out yet (0 once the reservation is older than the TTL). */
        synchronized long unused() {
            return nanos.getAsLong() - since < RESERVATION_TTL_NANOS ? tokens : 0;
        }

        synchronized void add(long n, long sharedLeft) {
            tokens = n;
            since = nanos.getAsLong();
            sharedRemaining = sharedLeft;
        }

        /** The unused tokens of a reservation older than the TTL (now no longer reserved), else 0. */
        synchronized long expire() {
            if (tokens > 0 && nanos.getAsLong() - since >= RESERVATION_TTL_NANOS) {
                long unused = tokens;
                tokens = 0;
                return unused;
            }
            return 0;
        }
    }

    static final long RESERVATION_TTL_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Gives unused reserved tokens back to the shared buckets (runs every half second). */
    private void returnUnused() {
        reservations.forEach((key, reservation) -> {
            long unused = reservation.expire();
            BucketProxy bucket = shared.get(key);
            if (unused > 0 && bucket != null) {
                try {
                    bucket.addTokens(unused);
                } catch (RuntimeException e) {
                    LOG.debug("could not give {} tokens back to {}: {}", unused, key, e.toString());
                }
            }
        });
    }

    private static Decision allowed(Limits.Limit limit, Remaining left, String source) {
        long remaining = Math.min(limit.burst(), left.tokens());
        return new Decision(true, limit.burst(), remaining, ceilDiv(limit.burst() - remaining, limit.rate()), 0, source);
    }

    private static Decision refused(Limits.Limit limit, long remaining, long waitNanos, String source) {
        long retry = Math.max(1, (waitNanos + TimeUnit.SECONDS.toNanos(1) - 1) / TimeUnit.SECONDS.toNanos(1));
        long reset = ceilDiv(limit.burst() - remaining, limit.rate());
        // A request larger than the whole bucket can never pass: say so with the longest sensible wait.
        return new Decision(false, limit.burst(), remaining, reset, waitNanos == Long.MAX_VALUE ? reset : retry, source);
    }

    private static long ceilDiv(long a, long b) {
        return a <= 0 ? 0 : (a + b - 1) / b;
    }

    private BucketProxy sharedBucket(String key, Limits.Limit limit) {
        BucketProxy bucket = shared.get(key);
        if (bucket == null) {
            BucketConfiguration configuration = BucketConfiguration.builder()
                .addLimit(l -> l.capacity(limit.burst()).refillGreedy(limit.rate(), Duration.ofSeconds(1))).build();
            bucket = proxies().builder().withOptimization(Optimizations.batching()).build(key, () -> configuration);
            shared.put(key, bucket);
        }
        return bucket;
    }

    private ProxyManager<String> proxies() {
        ProxyManager<String> p = proxies;
        if (p == null) {
            synchronized (this) {
                if (proxies == null) {
                    connection = client.get().connect(TextKeysByteValues.INSTANCE);
                    proxies = Bucket4jLettuce.casBasedBuilder(connection)
                        .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ofSeconds(10)))
                        .build();
                }
                p = proxies;
            }
        }
        return p;
    }

    @PreDestroy
    @Override
    public void close() {
        sweeper.shutdownNow();
        returnUnused();
        if (connection != null) {
            connection.close();
        }
    }
}
