package io.tally.devstack;

import io.tally.model.TimeSource;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for a condition with a deadline, polling; never a fixed sleep. */
public record Deadline(long endNanos) {

    public static Deadline in(Duration duration) {
        return new Deadline(TimeSource.SYSTEM.nanos() + duration.toNanos());
    }

    public boolean passed() {
        return TimeSource.SYSTEM.nanos() - endNanos > 0;
    }

    /** Polls {@code condition} every {@code interval} until it holds (true) or the deadline passes (false). */
    public boolean await(BooleanSupplier condition, Duration interval) {
        while (true) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (passed()) {
                return false;
            }
            try {
                Thread.sleep(interval.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }
}
