package io.tally.gateway.ratelimit;

import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tally.devstack.Ports;
import io.tally.gateway.config.GatewayConfig;
import io.tally.model.TimeSource;
import io.tally.testinfra.TestStack;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Token buckets against the real Redis Cluster, and the configured policy when Redis cannot be reached. */
class TenantRateLimiterTest {

    private static GatewayConfig config(boolean failOpen) {
        return new GatewayConfig(null, null, "http://127.0.0.1:1", "http://127.0.0.1:1", "http://127.0.0.1:1", "http://127.0.0.1:1",
            1, 10, 1, 5, null, failOpen, Duration.ofSeconds(1), 10, Duration.ofSeconds(1), 1000, 2000);
    }

    private static RedisClusterClient client(String uris) {
        List<RedisURI> nodes = Arrays.stream(uris.split(",")).map(RedisURI::create).toList();
        RedisClusterClient client = RedisClusterClient.create(nodes);
        client.setDefaultTimeout(Duration.ofSeconds(1));
        return client;
    }

    @Test
    void twoLimitersOnOneRedisShareATenantsBucket() {
        RedisClusterClient redis = client(TestStack.infrastructure().redisUris());
        try (TenantRateLimiter one = new TenantRateLimiter(() -> redis, config(true), new SimpleMeterRegistry(), TimeSource.SYSTEM);
             TenantRateLimiter two = new TenantRateLimiter(() -> redis, config(true), new SimpleMeterRegistry(), TimeSource.SYSTEM)) {
            String tenant = "t" + UUID.randomUUID().toString().substring(0, 8);
            Decision first = one.take(tenant, Limits.Kind.INGEST, 6);
            assertTrue(first.allowed());
            assertEquals("redis", first.source());
            assertEquals(10, first.limit());
            assertEquals(4, first.remaining());
            Decision second = two.take(tenant, Limits.Kind.INGEST, 6);
            assertFalse(second.allowed(), "the other replica sees the same bucket");
            assertTrue(second.retryAfterSeconds() >= 1);
            assertTrue(one.take("other-" + tenant, Limits.Kind.INGEST, 6).allowed(), "tenants do not share");
        } finally {
            redis.shutdown();
        }
    }

    @Test
    void peekingShowsTheHeadroomWithoutTakingAnything() {
        RedisClusterClient redis = client(TestStack.infrastructure().redisUris());
        GatewayConfig roomy = new GatewayConfig(null, null, "http://127.0.0.1:1", "http://127.0.0.1:1", "http://127.0.0.1:1",
            "http://127.0.0.1:1", 1, 10, 1, 100, null, true, Duration.ofSeconds(1), 10, Duration.ofSeconds(1), 1000, 2000);
        try (TenantRateLimiter limiter = new TenantRateLimiter(() -> redis, roomy, new SimpleMeterRegistry(), TimeSource.SYSTEM)) {
            String tenant = "p" + UUID.randomUUID().toString().substring(0, 8);
            TenantRateLimiter.Headroom fresh = limiter.peek(tenant, Limits.Kind.QUERY);
            assertEquals(new TenantRateLimiter.Headroom(1, 100, 100, "redis"), fresh);
            assertEquals(fresh, limiter.peek(tenant, Limits.Kind.QUERY), "a peek takes nothing");
            assertTrue(limiter.take(tenant, Limits.Kind.QUERY, 30).allowed());
            // 30 taken (and a chunk reserved ahead, still the tenant's): 70 left, refilling at 1 per second.
            long left = limiter.peek(tenant, Limits.Kind.QUERY).remaining();
            assertTrue(left >= 70 && left <= 72, "left " + left);
        } finally {
            redis.shutdown();
        }
    }

    @Test
    void reservingTokensAheadNeverAdmitsMoreThanTheSharedLimit() {
        RedisClusterClient redis = client(TestStack.infrastructure().redisUris());
        GatewayConfig roomy = new GatewayConfig(null, null, "http://127.0.0.1:1", "http://127.0.0.1:1", "http://127.0.0.1:1",
            "http://127.0.0.1:1", 1, 10, 100, 100, null, true, Duration.ofSeconds(1), 10, Duration.ofSeconds(1), 1000, 2000);
        try (TenantRateLimiter one = new TenantRateLimiter(() -> redis, roomy, new SimpleMeterRegistry(), TimeSource.SYSTEM);
             TenantRateLimiter two = new TenantRateLimiter(() -> redis, roomy, new SimpleMeterRegistry(), TimeSource.SYSTEM)) {
            String tenant = "r" + UUID.randomUUID().toString().substring(0, 8);
            long start = System.nanoTime();
            int admitted = 0;
            for (int i = 0; i < 400; i++) {
                TenantRateLimiter limiter = i % 2 == 0 ? one : two;
                Decision d = limiter.take(tenant, Limits.Kind.QUERY, 1);
                admitted += d.allowed() ? 1 : 0;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            // Burst 100 plus what refilled (100/s) while the loop ran: never more.
            assertTrue(admitted <= 100 + Math.ceil(100 * seconds), admitted + " admitted in " + seconds + " s");
            assertTrue(admitted >= 50, "reservations only hold back a little: " + admitted);
        } finally {
            redis.shutdown();
        }
    }

    @Test
    void failsOpenWithALocalBucketWhenRedisIsAway() {
        RedisClusterClient dead = client("redis://127.0.0.1:" + Ports.findFreeRange(1, false));
        try (TenantRateLimiter limiter = new TenantRateLimiter(() -> dead, config(true), new SimpleMeterRegistry(), TimeSource.SYSTEM)) {
            Decision first = limiter.take("acme", Limits.Kind.QUERY, 1);
            assertTrue(first.allowed());
            assertEquals("local", first.source());
            for (int i = 0; i < 4; i++) {
                assertTrue(limiter.take("acme", Limits.Kind.QUERY, 1).allowed());
            }
            Decision over = limiter.take("acme", Limits.Kind.QUERY, 1);
            assertFalse(over.allowed(), "the local bucket still limits (burst 5)");
            assertEquals("local", over.source());
        } finally {
            dead.shutdown();
        }
    }

    @Test
    void failsClosedWhenConfiguredTo() {
        RedisClusterClient dead = client("redis://127.0.0.1:" + Ports.findFreeRange(1, false));
        try (TenantRateLimiter limiter = new TenantRateLimiter(() -> dead, config(false), new SimpleMeterRegistry(), TimeSource.SYSTEM)) {
            Decision decision = limiter.take("acme", Limits.Kind.QUERY, 1);
            assertFalse(decision.allowed());
            assertEquals("unavailable", decision.source());
            assertTrue(decision.retryAfterSeconds() >= 1);
        } finally {
            dead.shutdown();
        }
    }
}
