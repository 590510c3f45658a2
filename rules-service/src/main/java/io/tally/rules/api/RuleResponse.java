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
public record RuleResponse(String id, int version, String status, String createdAt, String updatedAt, @Nullable String name,
                           RuleRecord.Filter filter, List<String> groupBy, List<RuleRecord.Aggregation> aggregations,
                           RuleRecord.Window window, String allowedLateness, String retention) {

    static RuleResponse of(Stored stored, RuleDefinition d, String status) {
        return new RuleResponse(stored.id(), stored.version(), status, stored.createdAt().toString(), stored.updatedAt().toString(),
            d.name(), d.filter(), d.groupBy(), d.aggregations(), d.window(), d.allowedLateness(), d.retention());
    }

    /** A page of rules. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Page(List<RuleResponse> rules, @Nullable String nextPageToken) {
    }
}
