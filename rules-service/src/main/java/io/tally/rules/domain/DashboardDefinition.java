package io.tally.rules.domain;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;

import java.util.List;
import java.util.Map;

/** A saved set of queries: each names one of the tenant's rules and optional group values to narrow it. */
@Serdeable
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DashboardDefinition(@Nullable String name, List<Query> queries) {

    /** One rule's results, optionally narrowed to groups ({@code dimension → value}; null matches a missing dimension). */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Query(String ruleId, Map<String, String> groups) {
    }
}
