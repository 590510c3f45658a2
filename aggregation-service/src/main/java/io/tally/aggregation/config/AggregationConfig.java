package io.tally.aggregation.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

import java.time.Duration;

/**
 * Settings of the aggregation engine ({@code tally.aggregation.*}).
 *
 * @param maxBatchEvents a micro-batch is flushed once it holds this many events
 * @param maxBatchDelay  ... or once its oldest event waited this long
 * @param groupId        the consumer group of the aggregation instances
 */
@ConfigurationProperties(AggregationConfig.PREFIX)
public record AggregationConfig(
    @Bindable(defaultValue = "5000") int maxBatchEvents,
    @Bindable(defaultValue = "50ms") Duration maxBatchDelay,
    @Bindable(defaultValue = "tally-aggregation") String groupId) {

    public static final String PREFIX = "tally.aggregation";
}
