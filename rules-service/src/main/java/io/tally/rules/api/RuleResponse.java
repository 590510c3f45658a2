package io.tally.rules.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import io.tally.model.RuleRecord;
import io.tally.rules.domain.RuleDefinition;
import io.tally.rules.persistence.Stored;

import java.util.List;

/** A rule as the API shows it: the definition plus the server's fields. */
@Serdeable
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RuleResponse(String id, int version, String status, @Nullable String reason, String createdAt, String updatedAt,
                           @Nullable String name, RuleRecord.Filter filter, List<String> groupBy, List<RuleRecord.Aggregation> aggregations,
                           RuleRecord.Window window, String allowedLateness, String retention) {

    /** A version's status: {@code pending}, {@code active}, or {@code failed} with the reason. */
    record Status(String status, @Nullable String reason) {
    }

    static RuleResponse of(Stored stored, RuleDefinition d, Status status) {
        return new RuleResponse(stored.id(), stored.version(), status.status(), status.reason(), stored.createdAt().toString(),
            stored.updatedAt().toString(), d.name(), d.filter(), d.groupBy(), d.aggregations(), d.window(), d.allowedLateness(), d.retention());
    }

    /** A page of rules. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Page(List<RuleResponse> rules, @Nullable String nextPageToken) {
    }
}
