package io.tally.model;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/** A {@link TimeSource} that moves only when told to: for tests of time-driven behaviour without sleeping. */
public final class ManualTime implements TimeSource {

    private final AtomicLong millis;
    private final AtomicLong nanos = new AtomicLong();

    public ManualTime(Instant start) {
        this.millis = new AtomicLong(start.toEpochMilli());
    }

    public ManualTime(long epochMillis) {
        this.millis = new AtomicLong(epochMillis);
    }

    /** Moves both clocks forward by {@code by}. */
    public ManualTime advance(Duration by) {
        if (by.isNegative()) {
            throw new IllegalArgumentException("time moves forward only: " + by);
        }
        millis.addAndGet(by.toMillis());
        nanos.addAndGet(by.toNanos());
        return this;
    }

    @Override
    public long millis() {
        return millis.get();
    }

    @Override
    public long nanos() {
        return nanos.get();
    }
}
