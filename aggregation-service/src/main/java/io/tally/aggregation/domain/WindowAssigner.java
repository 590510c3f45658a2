package io.tally.aggregation.domain;

import java.time.Duration;

/**
 * Assigns an event time to its windows: tumbling ({@code slide == size}) or hopping ({@code slide}
 * divides {@code size}), aligned to the Unix epoch, half-open. An event belongs to
 * {@code size / slide} windows, newest first.
 */
public final class WindowAssigner {

    private final long size;
    private final long slide;

    public WindowAssigner(Duration size, Duration slide) {
        this.size = size.toMillis();
        this.slide = slide == null ? this.size : slide.toMillis();
        if (this.size <= 0 || this.slide <= 0 || this.size % this.slide != 0) {
            throw new IllegalArgumentException("window size must be positive and a multiple of the slide");
        }
    }

    public static WindowAssigner tumbling(Duration size) {
        return new WindowAssigner(size, size);
    }

    public long sizeMillis() {
        return size;
    }

    public long slideMillis() {
        return slide;
    }

    /** How many windows each event belongs to. */
    public int windowsPerEvent() {
        return (int) (size / slide);
    }

    /** The start of the newest window containing {@code time}. */
    public long lastStart(long time) {
        return time - Math.floorMod(time, slide);
    }

    /**
     * The starts of every window containing {@code time}, newest first, written into {@code starts}
     * (length ≥ {@link #windowsPerEvent()}); allocation-free for the hot path.
     */
    public int assign(long time, long[] starts) {
        long start = lastStart(time);
        int n = windowsPerEvent();
        for (int i = 0; i < n; i++) {
            starts[i] = start - i * slide;
        }
        return n;
    }

    public TimeWindow windowAt(long start) {
        return new TimeWindow(start, start + size);
    }
}
