package io.tally.rule;

/** A half-open event-time window {@code [start, end)} in Unix epoch milliseconds. */
public record TimeWindow(long start, long end) {

    public TimeWindow {
        if (end <= start) {
            throw new IllegalArgumentException("a window ends after it starts: [" + start + ", " + end + ")");
        }
    }

    public boolean contains(long time) {
        return time >= start && time < end;
    }
}
