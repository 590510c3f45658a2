package io.tally.results;

import io.micronaut.context.annotation.Requires;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.AbstractHealthIndicator;
import io.micronaut.management.health.indicator.annotation.Readiness;
import jakarta.inject.Singleton;

import java.util.Map;

/**
 * Readiness of a service that reads results: DOWN while its read breaker holds reads back after repeated Redis
 * failures (a failover in progress, say), UP again once a trial read succeeds.
 */
@Singleton
@Readiness
@Requires(beans = StateReader.class)
@Requires(classes = AbstractHealthIndicator.class)
public class StateReaderReadiness extends AbstractHealthIndicator<Map<String, Object>> {

    private final StateReader reader;

    public StateReaderReadiness(StateReader reader) {
        this.reader = reader;
    }

    @Override
    protected Map<String, Object> getHealthInformation() {
        healthStatus = reader.available() ? HealthStatus.UP : HealthStatus.DOWN;
        return Map.of("breaker", reader.breakerState());
    }

    @Override
    protected String getName() {
        return "redis-reads";
    }
}
