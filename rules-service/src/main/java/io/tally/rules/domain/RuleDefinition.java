package io.tally.rules.domain;

import io.tally.model.RuleRecord;

import java.util.List;

/**
 * What a tenant admin defines, validated and with defaults filled in: every filter list present (empty
 * = any), {@code allowedLateness} PT5S and {@code retention} PT24H when left out.
 */
@io.micronaut.serde.annotation.Serdeable
@com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
public record RuleDefinition(String name, RuleRecord.Filter filter, List<String> groupBy, List<RuleRecord.Aggregation> aggregations,
                             RuleRecord.Window window, String allowedLateness, String retention) {

    /** This definition as the record that travels on {@code tally.rules}. */
    public RuleRecord toRecord(String tenant, String id, int version) {
        return new RuleRecord(tenant, id, version, name, filter, groupBy, aggregations, window, allowedLateness, retention);
    }

    /** How many windows one event joins (size / slide; 1 for tumbling windows): what an event costs this rule. */
    public int windowsPerEvent() {
        return windowsPerEvent(window.size(), window.slide());
    }

    /** Windows per event of a window given as ISO-8601 durations (a slide of null: tumbling). */
    public static int windowsPerEvent(String size, String slide) {
        if (slide == null) {
            return 1;
        }
        return (int) Math.max(1, java.time.Duration.parse(size).toMillis() / java.time.Duration.parse(slide).toMillis());
    }

    public static RuleDefinition of(RuleRecord r) {
        return new RuleDefinition(r.name(), r.filter(), r.groupBy(), r.aggregations(), r.window(), r.allowedLateness(), r.retention());
    }
}
