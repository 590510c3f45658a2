package io.tally.rules.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import io.tally.rules.domain.DashboardDefinition;
import io.tally.rules.persistence.Stored;

import java.util.List;

/** A dashboard as the API shows it. */
@Serdeable
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DashboardResponse(String id, int version, String createdAt, String updatedAt, @Nullable String name,
                                List<DashboardDefinition.Query> queries) {

    static DashboardResponse of(Stored stored, DashboardDefinition d) {
        return new DashboardResponse(stored.id(), stored.version(), stored.createdAt().toString(), stored.updatedAt().toString(),
            d.name(), d.queries());
    }

    /** A page of dashboards. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Page(List<DashboardResponse> dashboards, @Nullable String nextPageToken) {
    }
}
