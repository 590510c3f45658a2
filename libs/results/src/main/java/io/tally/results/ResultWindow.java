package io.tally.results;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import io.tally.rule.RuleSpec;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One window as the contract shows it (results, snapshots and live updates); {@code overflowGroups}, present only
 * when the window had more distinct groups than the tenant's quota, says how many were counted in the group whose
 * every dimension is {@code "__other__"}.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record ResultWindow(String start, String end, @JsonProperty("final") boolean isFinal, List<Group> groups,
                           @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Long overflowGroups) {

    /** One group of a window: its dimension values and its aggregation values. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Group(Map<String, Object> group, Map<String, Object> values) {
    }

    /**
     * The window starting at {@code window.start()} with the groups matching {@code filter}, or
     * {@code null} when none matches.
     */
    public static ResultWindow of(ResultAssembler assembler, RuleSpec rule, RawWindow window, Map<String, String> filter, Long closedUpTo) {
        List<Group> groups = assembler.groups(rule, window, filter).stream().map(g -> new Group(g.group(), g.values())).toList();
        if (groups.isEmpty()) {
            return null;
        }
        long overflow = window.overflowGroups();
        return new ResultWindow(iso(window.start()), iso(window.start() + rule.sizeMillis()), rule.isFinal(window.start(), closedUpTo), groups,
            overflow > 0 ? overflow : null);
    }

    public static String iso(long millis) {
        return Instant.ofEpochMilli(millis).toString();
    }
}
