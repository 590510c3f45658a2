package io.tally.telemetry;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;

/**
 * Puts the fleet's hand-built clients on /prometheus: a Kafka client's own metrics (records lag per partition,
 * request latency, batch sizes: {@code kafka_consumer_*}, {@code kafka_producer_*}) and a circuit breaker's state and
 * calls ({@code resilience4j_circuitbreaker_*}).
 */
public final class Observed {

    private Observed() {
    }

    /** Binds the consumer's metrics; close the result when the consumer closes. */
    public static AutoCloseable kafka(MeterRegistry meters, Consumer<?, ?> consumer) {
        KafkaClientMetrics metrics = new KafkaClientMetrics(consumer);
        metrics.bindTo(meters);
        return metrics;
    }

    /** Binds the producer's metrics; close the result when the producer closes. */
    public static AutoCloseable kafka(MeterRegistry meters, Producer<?, ?> producer) {
        KafkaClientMetrics metrics = new KafkaClientMetrics(producer);
        metrics.bindTo(meters);
        return metrics;
    }

    /** A circuit breaker whose state, failure rate and calls are metrics, tagged by its name. */
    public static CircuitBreaker breaker(MeterRegistry meters, String name, CircuitBreakerConfig config) {
        CircuitBreakerRegistry registry = CircuitBreakerRegistry.of(config);
        TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(registry).bindTo(meters);
        return registry.circuitBreaker(name);
    }
}
