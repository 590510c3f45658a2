package io.tally.model;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * Where main code reads the time: the wall clock (epoch milliseconds, for event time, expiries and what users
 * see) and a monotonic counter (nanoseconds, for timeouts, delays and latencies). Services inject the
 * {@link #SYSTEM} source; tests pass a {@link ManualTime} and move it by hand instead of sleeping.
 */
public interface TimeSource {

    /** The system's clocks: {@link System#currentTimeMillis()} and {@link System#nanoTime()}. */
    TimeSource SYSTEM = new TimeSource() {
        @Override
        public long millis() {
            return System.currentTimeMillis();
        }

        @Override
        public long nanos() {
            return System.nanoTime();
        }

        @Override
        public String toString() {
            return "TimeSource.SYSTEM";
        }
    };

    /** Wall-clock time in epoch milliseconds; may jump. */
    long millis();

    /** A monotonic reading in nanoseconds with an arbitrary origin: only differences mean anything. */
    long nanos();

    default Instant instant() {
        return Instant.ofEpochMilli(millis());
    }

    /** This source's wall clock as a {@link Clock} in UTC, for APIs that take one. */
    default Clock clock() {
        return new SourceClock(this, ZoneOffset.UTC);
    }

    /** A {@link Clock} reading a {@link TimeSource}. */
    final class SourceClock extends Clock {

        private final TimeSource source;
        private final ZoneId zone;

        SourceClock(TimeSource source, ZoneId zone) {
            this.source = source;
            this.zone = zone;
        }

        @Override
        public ZoneId getZone() {
            return zone;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return new SourceClock(source, zone);
        }

        @Override
        public long millis() {
            return source.millis();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(source.millis());
        }
    }
}
