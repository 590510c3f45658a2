package io.tally.ingestion.messaging;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.AbstractHealthIndicator;
import io.micronaut.management.health.indicator.annotation.Readiness;
import jakarta.inject.Singleton;

import java.util.Map;

/**
 * Readiness of the event log: DOWN while its breaker refuses appends after repeated broker failures; it lets a
 * trial through after the open time on its own, so readiness comes back without traffic having to reach it.
 */
@Singleton
@Readiness
public class EventLogReadiness extends AbstractHealthIndicator<Map<String, Object>> {

    private final KafkaEventLog log;

    public EventLogReadiness(KafkaEventLog log) {
        this.log = log;
    }

    @Override
    protected Map<String, Object> getHealthInformation() {
        CircuitBreaker.State state = log.breakerState();
        healthStatus = state == CircuitBreaker.State.OPEN || state == CircuitBreaker.State.FORCED_OPEN ? HealthStatus.DOWN : HealthStatus.UP;
        return Map.of("breaker", state.name());
    }

    @Override
    protected String getName() {
        return "event-log";
    }
}
