package io.tally.rules.domain;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import io.tally.model.RuleRecord;
import io.tally.model.StateKeys;
import io.tally.rule.Op;
import io.tally.rule.RuleDefaults;

import java.time.Duration;
import java.util.List;

/**
 * What a tenant admin defines, validated and with defaults filled in: every filter list present (empty
 * = any), {@code allowedLateness} PT5S, {@code retention} PT24H and {@code shards} 1 when left out ({@code shards} is
 * null in definitions stored before rules had it: 1).
 */
@Serdeable
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RuleDefinition(String name, RuleRecord.Filter filter, List<String> groupBy, List<RuleRecord.Aggregation> aggregations,
                             RuleRecord.Window window, String allowedLateness, String retention, @Nullable Integer shards,
                             @Nullable RuleRecord.Rollup rollup) {

    public RuleDefinition(String name, RuleRecord.Filter filter, List<String> groupBy, List<RuleRecord.Aggregation> aggregations,
                          RuleRecord.Window window, String allowedLateness, String retention, @Nullable Integer shards) {
        this(name, filter, groupBy, aggregations, window, allowedLateness, retention, shards, null);
    }

    /** This definition as the record that travels on {@code tally.rules}. */
    public RuleRecord toRecord(String tenant, String id, int version) {
        return new RuleRecord(tenant, id, version, name, filter, groupBy, aggregations, window, allowedLateness, retention, shards, null, null,
            rollup);
    }

    /** How many windows one event joins (size / slide; 1 for tumbling windows): what an event costs this rule. */
    public int windowsPerEvent() {
        return windowsPerEvent(window.size(), window.slide());
    }

    /** Windows per event of a window given as ISO-8601 durations (a slide of null: tumbling). */
    public static int windowsPerEvent(String size, String slide) {
        if (slide == null) {
            return 1;
        }
        return (int) Math.max(1, Duration.parse(size).toMillis() / Duration.parse(slide).toMillis());
    }

    /** Bytes one hash field takes in Redis, about (field, value and the entry's overhead). */
    static final long FIELD_BYTES = 64;
    /** A dense HyperLogLog. */
    static final long HLL_BYTES = 12_304;

    /**
     * The most state this rule can hold at once, worst case: the windows it keeps at once ((size + retention) / slide)
     * times the groups a window may keep (the tenant's quota, plus {@code __other__}) times what one group stores —
     * a hash field per counter, a dense HyperLogLog per {@code distinct}, a full sketch per {@code topk} — plus each
     * window's HyperLogLog of overflowed groups. Far above what most rules ever hold; it bounds what one can.
     */
    public long worstCaseStateBytes(int groupsPerWindow) {
        long size = Duration.parse(window.size()).toMillis();
        long slide = window.slide() == null ? size : Duration.parse(window.slide()).toMillis();
        long kept = retention == null ? 0 : Duration.parse(retention).toMillis();
        double windows = Math.ceil((double) (size + kept) / Math.max(1, slide));
        double perGroup = FIELD_BYTES; // the group's event count
        for (RuleRecord.Aggregation a : aggregations) {
            switch (Op.of(a.op())) {
                case DISTINCT -> perGroup += HLL_BYTES;
                case TOPK -> perGroup += FIELD_BYTES * StateKeys.topkCapacity(a.k() == null ? RuleDefaults.TOPK_K : a.k());
                case AVG -> perGroup += 2 * FIELD_BYTES;
                default -> perGroup += FIELD_BYTES;
            }
        }
        boolean grouped = groupBy != null && !groupBy.isEmpty();
        double perWindow = (grouped ? groupsPerWindow + 1.0 : 1.0) * perGroup + (grouped ? HLL_BYTES : 0) + FIELD_BYTES;
        if (rollup != null) {
            // The rollup tier's windows, kept longer: each may hold every group of the windows inside it, up to the quota each.
            long resolution = Duration.parse(rollup.resolution()).toMillis();
            double rolled = Math.ceil((double) (resolution + Duration.parse(rollup.retention()).toMillis()) / resolution);
            windows += rolled * Math.max(1, resolution / Math.max(1, size));
        }
        double bytes = windows * perWindow;
        return bytes >= Long.MAX_VALUE ? Long.MAX_VALUE : (long) bytes;
    }

    public static RuleDefinition of(RuleRecord r) {
        return new RuleDefinition(r.name(), r.filter(), r.groupBy(), r.aggregations(), r.window(), r.allowedLateness(), r.retention(), r.shards(),
            r.rollup());
    }
}
