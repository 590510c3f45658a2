package io.tally.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;

import java.util.List;
import java.util.Map;

/**
 * One version of a rule as it travels on {@link Topics#RULES} (key {@code tenant:id}; a delete is a
 * tombstone). The definition has the shape of the public API's rule; durations are ISO-8601 strings.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RuleRecord(String tenant, String id, int version, @Nullable String name, @Nullable Filter filter,
                         @Nullable List<String> groupBy, List<Aggregation> aggregations, Window window,
                         @Nullable String allowedLateness, @Nullable String retention, @Nullable Integer shards,
                         @Nullable Backfill backfill, @Nullable RuleRecord previous, @Nullable Rollup rollup) {

    /** A rule version without rollups. */
    public RuleRecord(String tenant, String id, int version, @Nullable String name, @Nullable Filter filter, @Nullable List<String> groupBy,
                      List<Aggregation> aggregations, Window window, @Nullable String allowedLateness, @Nullable String retention,
                      @Nullable Integer shards, @Nullable Backfill backfill, @Nullable RuleRecord previous) {
        this(tenant, id, version, name, filter, groupBy, aggregations, window, allowedLateness, retention, shards, backfill, previous, null);
    }

    /** A rule version without a backfill. */
    public RuleRecord(String tenant, String id, int version, @Nullable String name, @Nullable Filter filter, @Nullable List<String> groupBy,
                      List<Aggregation> aggregations, Window window, @Nullable String allowedLateness, @Nullable String retention,
                      @Nullable Integer shards) {
        this(tenant, id, version, name, filter, groupBy, aggregations, window, allowedLateness, retention, shards, null, null);
    }

    /** A rule kept in one shard (the records written before rules had {@code shards}). */
    public RuleRecord(String tenant, String id, int version, @Nullable String name, @Nullable Filter filter, @Nullable List<String> groupBy,
                      List<Aggregation> aggregations, Window window, @Nullable String allowedLateness, @Nullable String retention) {
        this(tenant, id, version, name, filter, groupBy, aggregations, window, allowedLateness, retention, null, null, null);
    }

    /** Header of a tombstone on {@link Topics#RULES}: the last version of the deleted rule (a re-sent older version must not revive it). */
    public static final String DELETED_VERSION_HEADER = "tally-deleted-version";

    public String key() {
        return key(tenant, id);
    }

    /**
     * Where the version's state lives: the rule id for a version that counts from when it became active; {@code id@version}
     * for a version that was backfilled (its state is computed beside the version it replaces while that one keeps serving,
     * so it needs keys, fences and finality marks of its own).
     */
    public String stateId() {
        return backfill == null ? id : id + "@" + version;
    }

    /** True while this version is computed from the retained events (its {@link #previous} version serves readers meanwhile). */
    public boolean backfilling() {
        return backfill != null && Backfill.RUNNING.equals(backfill.state());
    }

    /** True when this version's backfill failed: its {@link #previous} version keeps serving. */
    public boolean backfillFailed() {
        return backfill != null && Backfill.FAILED.equals(backfill.state());
    }

    /**
     * The version readers are served: this one, or while it is backfilling or after its backfill failed the version it
     * replaces ({@link #previous}); for a new rule without one, version 0 of the same definition, which holds nothing (no
     * version 0 is ever written), so readers see an empty rule until the backfill switches over.
     */
    public RuleRecord serving() {
        if (!backfilling() && !backfillFailed()) {
            return this;
        }
        return previous != null ? previous
            : new RuleRecord(tenant, id, 0, name, filter, groupBy, aggregations, window, allowedLateness, retention, shards, null, null, rollup);
    }

    /**
     * Orders two records of one version: a version is first published backfilling (0), then once more when its backfill
     * ended (1, done or failed); a record of a version without a backfill is 1.
     */
    public int stage() {
        return backfilling() ? 0 : 1;
    }

    /** True when this record supersedes {@code held} (a newer version, or the same version at a later stage). */
    public boolean supersedes(RuleRecord held) {
        return version > held.version || version == held.version && stage() > held.stage();
    }

    /**
     * A version computed from the retained events of {@code span} (ISO-8601) before it was made, from {@code from} on (the
     * instant the span starts, fixed when the version is made, so every engine instance and every resumed run reads the same
     * events); {@code state} running, done or failed (with {@code reason}).
     */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Backfill(String span, String from, String state, @Nullable String reason) {
        public static final String RUNNING = "running";
        public static final String DONE = "done";
        public static final String FAILED = "failed";
    }

    public static String key(String tenant, String id) {
        return tenant + ":" + id;
    }

    /** Which events a rule counts: lists are OR within a field, fields are AND; empty = all. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Filter(@Nullable List<String> categories, @Nullable List<String> types, @Nullable List<String> geos,
                         @Nullable Map<String, Object> attributes) {
    }

    /** One aggregation: {@code op} is count, sum, min, max, avg, rate, distinct or topk. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Aggregation(String name, String op, @Nullable String field, @Nullable Integer k) {
    }

    /**
     * A coarser tier kept longer than the rule's windows: windows of {@code resolution} (a multiple of the window size), each
     * the sum of the rule's windows inside it as they become final, kept {@code retention} after they end (ISO-8601).
     */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Rollup(String resolution, String retention) {
    }

    /** Window size and optional slide (hopping), ISO-8601 durations. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Window(String size, @Nullable String slide) {
    }
}
