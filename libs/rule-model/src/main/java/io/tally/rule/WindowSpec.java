package io.tally.rule;

import io.tally.model.RuleRecord;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A rule's windows: tumbling ({@code slide == size}) or hopping ({@code slide} divides {@code size}), aligned to the
 * Unix epoch, half-open, with the allowed lateness that decides when one is final. An event belongs to
 * {@code size / slide} windows, newest first.
 */
public final class WindowSpec {

    private final long size;
    private final long slide;
    private final long lateness;

    /**
     * @param slide    null for tumbling windows
     * @param lateness how long after its end a window still takes events
     */
    public WindowSpec(Duration size, Duration slide, Duration lateness) {
        this.size = size.toMillis();
        this.slide = slide == null ? this.size : slide.toMillis();
        this.lateness = lateness.toMillis();
        if (this.size <= 0 || this.slide <= 0 || this.size % this.slide != 0) {
            throw new IllegalArgumentException("window size must be positive and a multiple of the slide");
        }
        if (this.lateness < 0) {
            throw new IllegalArgumentException("allowed lateness must not be negative");
        }
    }

    /** The windows of a rule record, with the defaults of what it leaves out. */
    public static WindowSpec of(RuleRecord rule) {
        Duration size = Duration.parse(rule.window().size());
        return new WindowSpec(size, rule.window().slide() == null ? size : Duration.parse(rule.window().slide()),
            RuleDefaults.duration(rule.allowedLateness(), RuleDefaults.LATENESS));
    }

    /** Tumbling windows of {@code size} with no lateness. */
    public static WindowSpec tumbling(Duration size) {
        return new WindowSpec(size, size, Duration.ZERO);
    }

    public long sizeMillis() {
        return size;
    }

    public long slideMillis() {
        return slide;
    }

    public long latenessMillis() {
        return lateness;
    }

    /** Whether windows overlap (hopping): an event then joins more than one. */
    public boolean overlapping() {
        return slide < size;
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

    /** How many windows overlap {@code [from, to)}, by arithmetic (no list is built). */
    public long countOverlapping(long from, long to) {
        long first = firstOverlapping(from);
        long last = Math.floorDiv(to - 1, slide) * slide;
        return last < first ? 0 : (last - first) / slide + 1;
    }

    /** Starts of the windows overlapping {@code [from, to)}, oldest first. */
    public List<Long> windowsOverlapping(long from, long to) {
        List<Long> starts = new ArrayList<>();
        for (long s = firstOverlapping(from); s < to; s += slide) {
            if (s + size > from) {
                starts.add(s);
            }
        }
        return starts;
    }

    private long firstOverlapping(long from) {
        return Math.floorDiv(from - size, slide) * slide + slide;
    }

    /** When the window starting at {@code start} closes: its end plus the allowed lateness; from then on an event for it is late. */
    public long closesAt(long start) {
        return start + size + lateness;
    }

    /**
     * Whether the window is final: the aggregation closed the rule up to at least its end plus the allowed
     * lateness (from then on an event for it counts as late, so its values never change again).
     */
    public boolean isFinal(long windowStart, Long closedUpTo) {
        return closedUpTo != null && closedUpTo >= closesAt(windowStart);
    }
}
