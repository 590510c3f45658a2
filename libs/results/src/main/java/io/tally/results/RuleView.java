package io.tally.results;

import io.tally.model.RuleRecord;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/** What reading results needs of a rule version: its windows, dimensions and aggregations. */
public record RuleView(String tenant, String id, int version, long sizeMillis, long slideMillis, long latenessMillis,
                       List<String> dimensions, List<Op> ops) {

    /** One aggregation: {@code kind} is the lower-case op of the contract. */
    public record Op(String name, String kind, int k) {
    }

    public static RuleView of(RuleRecord r) {
        long size = Duration.parse(r.window().size()).toMillis();
        long slide = r.window().slide() == null ? size : Duration.parse(r.window().slide()).toMillis();
        long lateness = r.allowedLateness() == null ? 5000 : Duration.parse(r.allowedLateness()).toMillis();
        List<Op> ops = r.aggregations().stream()
            .map(a -> new Op(a.name(), a.op().toLowerCase(Locale.ROOT), a.k() == null ? 10 : a.k())).toList();
        return new RuleView(r.tenant(), r.id(), r.version(), size, slide, lateness,
            r.groupBy() == null ? List.of() : List.copyOf(r.groupBy()), ops);
    }

    /** How many windows overlap {@code [from, to)}, by arithmetic (no list is built). */
    public long countOverlapping(long from, long to) {
        long first = Math.floorDiv(from - sizeMillis, slideMillis) * slideMillis + slideMillis;
        long last = Math.floorDiv(to - 1, slideMillis) * slideMillis;
        return last < first ? 0 : (last - first) / slideMillis + 1;
    }

    /** Starts of the windows overlapping {@code [from, to)}, oldest first. */
    public List<Long> windowsOverlapping(long from, long to) {
        long first = Math.floorDiv(from - sizeMillis, slideMillis) * slideMillis + slideMillis;
        List<Long> starts = new java.util.ArrayList<>();
        for (long s = first; s < to; s += slideMillis) {
            if (s + sizeMillis > from) {
                starts.add(s);
            }
        }
        return starts;
    }

    /**
     * Whether the window is final: the aggregation closed the rule up to at least its end plus the allowed
     * lateness (from then on an event for it counts as late, so its values never change again).
     */
    public boolean isFinal(long windowStart, Long closedUpTo) {
        return closedUpTo != null && closedUpTo >= windowStart + sizeMillis + latenessMillis;
    }
}
