package io.tally.rules.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

import java.time.Duration;

/**
 * Settings of the rules service ({@code tally.rules.*}).
 *
 * @param relayInterval      how often the outbox relay looks for rows it was not told about (commits in this
 *                           process wake it at once; this covers other replicas and retries)
 * @param relayBatch         outbox rows published per relay transaction
 * @param instanceLiveness   an aggregation instance whose last acknowledgement is older than this is no longer
 *                           waited for when deciding pending → active
 * @param haltAfterSend      fault injection for crash tests, off (0) by default: halt the JVM after the Nth relay
 *                           batch reached Kafka and before its rows were marked published
 */
@ConfigurationProperties(RulesConfig.PREFIX)
public record RulesConfig(
    @Bindable(defaultValue = "500ms") Duration relayInterval,
    @Bindable(defaultValue = "200") int relayBatch,
    @Bindable(defaultValue = "5s") Duration instanceLiveness,
    @Bindable(defaultValue = "0") int haltAfterSend) {

    public static final String PREFIX = "tally.rules";
}
