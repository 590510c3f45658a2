package io.tally.aggregation.messaging;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Whether the engine's consumer loop is applying batches: failing flushes (Redis or Kafka away, a replica not
 * acknowledging) are retried with back-off, and once they have failed for longer than a grace period, or the
 * loop has stopped, the instance is not ready.
 */
public final class EngineHealth {

    static final Duration GRACE = Duration.ofSeconds(10);

    private final Clock clock;
    private volatile long failingSince = -1;
    private volatile String lastError;
    private volatile long failures;
    private volatile boolean stopped;

    public EngineHealth(Clock clock) {
        this.clock = clock;
    }

    void succeeded() {
        failingSince = -1;
    }

    void failed(Throwable error) {
        failures++;
        lastError = error.toString();
        if (failingSince < 0) {
            failingSince = clock.millis();
        }
    }

    void stopped() {
        stopped = true;
    }

    /** Ready unless the loop stopped or its flushes have failed for longer than {@link #GRACE}. */
    public boolean ready() {
        long since = failingSince;
        return !stopped && (since < 0 || clock.millis() - since <= GRACE.toMillis());
    }

    /** What readiness shows about the loop. */
    public Map<String, Object> details() {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("loop", stopped ? "stopped" : "running");
        long since = failingSince;
        if (since >= 0) {
            details.put("failingForMs", clock.millis() - since);
            details.put("lastError", lastError);
        }
        details.put("failedFlushes", failures);
        return details;
    }
}
