package io.tally.model;

import java.util.List;
import java.util.Map;

/** The Kafka topics Tally uses: the one source of truth for names and layout. */
public final class Topics {

    /** Accepted events, keyed by {@code tenant:id} (every copy of an id on one partition). */
    public static final String EVENTS = "tally.events";
    /** Rule versions, keyed by {@code tenant:ruleId}; compacted, a delete is a tombstone. */
    public static final String RULES = "tally.rules";
    /** Changed windows after each aggregation flush, keyed by {@code tenant:ruleId}. */
    public static final String UPDATES = "tally.updates";
    /** Events that arrived after every window they belong to had closed. */
    public static final String LATE_EVENTS = "tally.late-events";
    /**
     * Batches the aggregation engine could not apply to a rule (and unreadable events), keyed by
     * {@code tenant:ruleId}: the original event bytes, with the reason and source in {@code tally.*} headers.
     */
    public static final String DEAD_LETTERS = "tally.dead-letters";
    /** Aggregation instances' acknowledgements of the rule versions they applied. */
    public static final String RULE_ACKS = "tally.rule-acks";

    /** Partitions of the event topic; the unit of parallelism of the aggregation service. */
    public static final int EVENT_PARTITIONS = 12;

    /** Events are kept at least as long as the longest rule retention (P7D) so state can be replayed. */
    private static final String SEVEN_DAYS_MS = Long.toString(7L * 24 * 3600 * 1000);

    private Topics() {
    }

    /** Every topic with its layout, in creation order. */
    public static List<TopicSpec> all() {
        return List.of(
            new TopicSpec(EVENTS, EVENT_PARTITIONS, Map.of(
                "retention.ms", SEVEN_DAYS_MS,
                "compression.type", "producer")),
            new TopicSpec(RULES, 3, Map.of(
                "cleanup.policy", "compact",
                "min.compaction.lag.ms", "60000")),
            new TopicSpec(UPDATES, EVENT_PARTITIONS, Map.of(
                "retention.ms", Long.toString(24L * 3600 * 1000))),
            new TopicSpec(LATE_EVENTS, 3, Map.of(
                "retention.ms", SEVEN_DAYS_MS)),
            new TopicSpec(RULE_ACKS, 1, Map.of(
                "retention.ms", Long.toString(24L * 3600 * 1000))),
            new TopicSpec(DEAD_LETTERS, 3, Map.of(
                "retention.ms", SEVEN_DAYS_MS)));
    }
}
