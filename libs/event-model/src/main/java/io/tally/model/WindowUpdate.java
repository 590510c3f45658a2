package io.tally.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.serde.annotation.Serdeable;

import java.util.List;
import java.util.Map;

/**
 * One window of one rule changed by an aggregation flush, as it travels on {@link Topics#UPDATES}
 * (key {@code tenant:ruleId}): every group of the window with its full current values.
 * <p>
 * {@code seq} is the rule's update sequence reserved by the read that produced the values, atomically
 * with it: a higher {@code seq} means values read later, so a window's values never go down as its
 * {@code seq} rises, and a snapshot read at sequence {@code s} already contains every update with
 * {@code seq <= s}. The windows read together share one {@code seq} and are sent as {@code parts}
 * consecutive records by one producer; sequences are contiguous per rule (one that never arrives
 * belongs to a read whose publisher failed before sending, and its changes come again under a later
 * number). Records of one rule from several aggregation instances may interleave out of order.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record WindowUpdate(String tenant, String ruleId, int ruleVersion, long seq, int parts, long windowStart, long windowEnd,
                           List<Group> groups) {

    /** One group: its dimension values and all its aggregation values. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Group(Map<String, Object> group, Map<String, Object> values) {
    }
}
