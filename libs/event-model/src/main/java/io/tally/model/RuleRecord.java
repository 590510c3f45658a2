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
                         @Nullable String allowedLateness, @Nullable String retention, @Nullable Integer shards) {

    /** A rule kept in one shard (the records written before rules had {@code shards}). */
    public RuleRecord(String tenant, String id, int version, @Nullable String name, @Nullable Filter filter, @Nullable List<String> groupBy,
                      List<Aggregation> aggregations, Window window, @Nullable String allowedLateness, @Nullable String retention) {
        this(tenant, id, version, name, filter, groupBy, aggregations, window, allowedLateness, retention, null);
    }

    /** Header of a tombstone on {@link Topics#RULES}: the last version of the deleted rule (a re-sent older version must not revive it). */
    public static final String DELETED_VERSION_HEADER = "tally-deleted-version";

    public String key() {
        return key(tenant, id);
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

    /** Window size and optional slide (hopping), ISO-8601 durations. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Window(String size, @Nullable String slide) {
    }
}
