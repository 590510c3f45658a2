package io.tally.ingestion.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

import java.time.Duration;

/**
 * Settings of the ingestion service ({@code tally.ingestion.*}).
 *
 * @param ackTimeout     how long a request waits for the broker to acknowledge all its events before answering 503
 * @param breakerOpenFor how long the circuit breaker stays open (and the Retry-After it suggests) after broker failures
 */
@ConfigurationProperties(IngestionConfig.PREFIX)
public record IngestionConfig(
    @Bindable(defaultValue = "6s") Duration ackTimeout,
    @Bindable(defaultValue = "5s") Duration breakerOpenFor) {

    public static final String PREFIX = "tally.ingestion";
}
