package io.tally.ingestion.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

import java.time.Duration;
import java.util.List;

/**
 * Settings of the ingestion service ({@code tally.ingestion.*}).
 *
 * @param ackTimeout     how long a request waits for the broker to acknowledge all its events before answering 503
 * @param hotKeys        {@code tenant:category} keys far hotter than the rest; their events are spread over
 *                       {@code saltBuckets} partitions by a hash of the event id (so duplicates still meet)
 * @param saltBuckets    partitions a hot key is spread over
 * @param breakerOpenFor how long the circuit breaker stays open (and the Retry-After it suggests) after broker failures
 */
@ConfigurationProperties(IngestionConfig.PREFIX)
public record IngestionConfig(
    @Bindable(defaultValue = "6s") Duration ackTimeout,
    @Bindable(defaultValue = "") List<String> hotKeys,
    @Bindable(defaultValue = "8") int saltBuckets,
    @Bindable(defaultValue = "5s") Duration breakerOpenFor) {

    public static final String PREFIX = "tally.ingestion";

    public IngestionConfig {
        hotKeys = hotKeys == null ? List.of() : List.copyOf(hotKeys);
    }
}
