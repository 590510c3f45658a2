package io.tally.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.serde.annotation.Serdeable;

import java.util.List;
import java.util.Map;

/**
 * One window of one rule changed by an aggregation flush, as it travels on {@link Topics#UPDATES}
 * (key {@code tenant:ruleId}): the changed groups with their full current values. {@code seq} rises
 * strictly per rule, in the order the changes were applied; values never go down between updates.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record WindowUpdate(String tenant, String ruleId, int ruleVersion, long seq, long windowStart, long windowEnd,
                           List<Group> groups) {

    /** One group: its dimension values and all its aggregation values. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Group(Map<String, Object> group, Map<String, Object> values) {
    }
}
