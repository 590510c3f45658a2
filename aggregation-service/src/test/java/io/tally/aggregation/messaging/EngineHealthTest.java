package io.tally.aggregation.messaging;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EngineHealthTest {

    private Instant now = Instant.parse("2026-12-03T10:00:00Z");
    private final Clock clock = new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };

    @Test
    void staysReadyThroughShortFailuresAndBecomesNotReadyWhenTheyLast() {
        EngineHealth health = new EngineHealth(clock);
        assertTrue(health.ready());
        health.failed(new IllegalStateException("Redis did not answer"));
        now = now.plus(EngineHealth.GRACE);
        assertTrue(health.ready(), "a failover shorter than the grace period keeps the instance ready");
        health.failed(new IllegalStateException("Redis did not answer"));
        now = now.plusMillis(1);
        assertFalse(health.ready());
        assertEquals("java.lang.IllegalStateException: Redis did not answer", health.details().get("lastError"));
        assertEquals(2L, health.details().get("failedFlushes"));
        health.succeeded();
        assertTrue(health.ready(), "one applied batch makes it ready again");
    }

    @Test
    void aStoppedLoopIsNotReady() {
        EngineHealth health = new EngineHealth(clock);
        health.stopped();
        assertFalse(health.ready());
        assertEquals("stopped", health.details().get("loop"));
        now = now.plus(Duration.ofHours(1));
        assertFalse(health.ready());
    }
}
