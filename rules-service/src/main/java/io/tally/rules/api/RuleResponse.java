package io.tally.rules.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import io.tally.model.RuleRecord;
import io.tally.rule.RuleDefaults;
import io.tally.rules.domain.RuleDefinition;
import io.tally.rules.persistence.DeadLetterStore;
import io.tally.rules.persistence.Stored;

import java.util.List;

/** A rule as the API shows it: the definition plus the server's fields. */
@Serdeable
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RuleResponse(String id, int version, String status, @Nullable String reason, String createdAt, String updatedAt,
                           @Nullable String name, RuleRecord.Filter filter, List<String> groupBy, List<RuleRecord.Aggregation> aggregations,
                           RuleRecord.Window window, String allowedLateness, String retention, int shards,
                           DeadLetters deadLetters, @Nullable Progress backfill, @Nullable RuleRecord.Rollup rollup) {

    /**
     * How a backfilling version's backfill goes: the tenant's events read so far, the log time it has read up to (absent
     * until it read one), and the seconds left at its rate so far (absent while unknown).
     */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Progress(long eventsRead, @Nullable String position, @Nullable Long estimatedSecondsLeft) {
    }

    /**
     * The events quarantined for this rule (a batch the engine could not apply, on {@code tally.dead-letters}): how
     * many, and the latest reason and time (absent when there are none).
     */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record DeadLetters(long count, @Nullable String lastReason, @Nullable String lastAt) {

        static DeadLetters of(DeadLetterStore.Summary summary) {
            return new DeadLetters(summary.count(), summary.lastReason(), summary.lastAt() == null ? null : summary.lastAt().toString());
        }
    }

    /** A version's status: {@code pending}, {@code backfilling} with its progress, {@code active}, or {@code failed} with the reason. */
    record Status(String status, @Nullable String reason, @Nullable Progress backfill) {
    }

    static RuleResponse of(Stored stored, RuleDefinition d, Status status, DeadLetterStore.Summary deadLetters) {
        return new RuleResponse(stored.id(), stored.version(), status.status(), status.reason(), stored.createdAt().toString(),
            stored.updatedAt().toString(), d.name(), d.filter(), d.groupBy(), d.aggregations(), d.window(), d.allowedLateness(), d.retention(),
            d.shards() == null ? RuleDefaults.SHARDS : d.shards(), DeadLetters.of(deadLetters), status.backfill(), d.rollup());
    }

    /** A page of rules. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Page(List<RuleResponse> rules, @Nullable String nextPageToken) {
    }
}
