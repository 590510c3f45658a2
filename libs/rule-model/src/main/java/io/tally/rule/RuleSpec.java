package io.tally.rule;

import io.tally.model.RuleRecord;

import java.time.Duration;
import java.util.List;

/**
 * A rule version parsed once for every service that runs or reads it: its windows, retention, the dimensions it
 * groups by and its aggregations, with the contract's defaults filled in. Built from a {@link RuleRecord} the rules
 * service has validated; {@link IllegalArgumentException} for one that cannot run. {@code shards}: over how many Redis
 * hash slots the rule's groups are spread (each shard with its own fence and update sequence; readers merge them);
 * {@code stateId}: the id its state is kept under ({@link RuleRecord#stateId()}); {@code rollupMillis} and
 * {@code rollupRetentionMillis} its rollup tier (0: none); {@code tier} which of its windows this spec reads: {@code ""}
 * its own, {@code ":r<ms>"} its rollup ({@link #rollupView()}).
 */
public record RuleSpec(String tenant, String id, int version, WindowSpec window, long retentionMillis,
                       List<String> dimensions, List<Aggregation> aggregations, int shards, String stateId,
                       long rollupMillis, long rollupRetentionMillis, String tier) {

    /** One aggregation: its name, operation, field (null for count and rate) and k (of a topk; the default otherwise). */
    public record Aggregation(String name, Op kind, FieldRef field, int k) {

        public Aggregation {
            if (kind.needsField() && field == null) {
                throw new IllegalArgumentException("aggregation " + name + " (" + kind.wire() + ") needs a field");
            }
        }
    }

    public RuleSpec {
        dimensions = List.copyOf(dimensions);
        aggregations = List.copyOf(aggregations);
        if (shards < 1 || shards > RuleDefaults.MAX_SHARDS) {
            throw new IllegalArgumentException("shards must be 1.." + RuleDefaults.MAX_SHARDS + ", was " + shards);
        }
    }

    public static RuleSpec of(RuleRecord r) {
        List<Aggregation> aggregations = r.aggregations().stream().map(a -> new Aggregation(a.name(), Op.of(a.op()),
            a.field() == null ? null : FieldRef.of(a.field()), a.k() == null ? RuleDefaults.TOPK_K : a.k())).toList();
        return new RuleSpec(r.tenant(), r.id(), r.version(), WindowSpec.of(r),
            RuleDefaults.duration(r.retention(), RuleDefaults.RETENTION).toMillis(),
            r.groupBy() == null ? List.of() : r.groupBy(), aggregations, r.shards() == null ? RuleDefaults.SHARDS : r.shards(),
            r.stateId(), r.rollup() == null ? 0 : Duration.parse(r.rollup().resolution()).toMillis(),
            r.rollup() == null ? 0 : Duration.parse(r.rollup().retention()).toMillis(), "");
    }

    /** True when the rule keeps a rollup tier. */
    public boolean hasRollup() {
        return rollupMillis > 0;
    }

    /**
     * The rule as its rollup tier reads: tumbling windows of the rollup's resolution (final once the last of the rule's windows
     * inside is), kept for the rollup's retention, under the keys of the tier.
     */
    public RuleSpec rollupView() {
        if (!hasRollup()) {
            throw new IllegalStateException("rule " + id + " keeps no rollup");
        }
        return new RuleSpec(tenant, id, version, new WindowSpec(Duration.ofMillis(rollupMillis), Duration.ofMillis(rollupMillis),
            Duration.ofMillis(window.latenessMillis())), rollupRetentionMillis, dimensions, aggregations, shards, stateId, 0, 0, rollupTier(rollupMillis));
    }

    /** The key tier of a rollup of this resolution. */
    public static String rollupTier(long resolutionMillis) {
        return ":r" + resolutionMillis;
    }

    /** The version as the keys of this spec's tier write it ({@code 3}, or {@code 3:r3600000}). */
    public String keyVersion() {
        return version + tier;
    }

    /** The aggregations, as {@link #aggregations()}: what each group of a window holds. */
    public List<Aggregation> ops() {
        return aggregations;
    }

    public long sizeMillis() {
        return window.sizeMillis();
    }

    public long slideMillis() {
        return window.slideMillis();
    }

    public long latenessMillis() {
        return window.latenessMillis();
    }

    /** How many windows overlap {@code [from, to)}. */
    public long countOverlapping(long from, long to) {
        return window.countOverlapping(from, to);
    }

    /** Starts of the windows overlapping {@code [from, to)}, oldest first. */
    public List<Long> windowsOverlapping(long from, long to) {
        return window.windowsOverlapping(from, to);
    }

    /** Whether the window starting at {@code windowStart} is final, given how far the aggregation closed the rule. */
    public boolean isFinal(long windowStart, Long closedUpTo) {
        return window.isFinal(windowStart, closedUpTo);
    }

    /** How long the rule's state lives after a window ends. */
    public Duration retention() {
        return Duration.ofMillis(retentionMillis);
    }
}
