package io.tally.aggregation.messaging;

import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.AbstractHealthIndicator;
import io.micronaut.management.health.indicator.annotation.Readiness;
import jakarta.inject.Singleton;

import java.util.Map;

/** Readiness of the aggregation engine: DOWN while its batches keep failing or its loop has stopped. */
@Singleton
@Readiness
public class EngineHealthIndicator extends AbstractHealthIndicator<Map<String, Object>> {

    private final EventConsumerLoop loop;

    public EngineHealthIndicator(EventConsumerLoop loop) {
        this.loop = loop;
    }

    @Override
    protected Map<String, Object> getHealthInformation() {
        EngineHealth health = loop.health();
        healthStatus = health.ready() ? HealthStatus.UP : HealthStatus.DOWN;
        return health.details();
    }

    @Override
    protected String getName() {
        return "aggregation-engine";
    }
}
