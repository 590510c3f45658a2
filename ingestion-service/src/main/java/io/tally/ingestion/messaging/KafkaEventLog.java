package io.tally.ingestion.messaging;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.tally.ingestion.config.IngestionConfig;
import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import io.tally.telemetry.KafkaTraces;
import io.tally.telemetry.Observed;
import jakarta.inject.Singleton;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Appends accepted events to {@link Topics#EVENTS} through {@link EventTopic} (idempotent, {@code acks=all}); returns
 * only when the broker acknowledged every event, within the ack timeout. Broker failures open a circuit breaker so requests
 * fail fast (503) instead of piling up while Kafka is away.
 */
@Singleton
public class KafkaEventLog {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaEventLog.class);

    private final EventTopic topic;
    private final CircuitBreaker breaker;
    private final Duration ackTimeout;
    private final int retryAfterSeconds;
    private final Tracer tracer;
    private final TimeSource time;

    public KafkaEventLog(EventTopic topic, IngestionConfig config, MeterRegistry meters, OpenTelemetry telemetry, TimeSource time) {
        this.topic = topic;
        this.time = time;
        this.tracer = telemetry.getTracer("io.tally.ingestion");
        this.ackTimeout = config.ackTimeout();
        this.retryAfterSeconds = (int) Math.max(1, config.breakerOpenFor().toSeconds());
        this.breaker = Observed.breaker(meters, "kafka-events", CircuitBreakerConfig.custom()
            .slidingWindowSize(20)
            .minimumNumberOfCalls(4)
            .failureRateThreshold(50)
            .waitDurationInOpenState(config.breakerOpenFor())
            .permittedNumberOfCallsInHalfOpenState(2)
            .automaticTransitionFromOpenToHalfOpenEnabled(true)
            .recordExceptions(EventLogUnavailableException.class)
            .build());
        breaker.getEventPublisher().onStateTransition(e -> LOG.warn("Kafka circuit breaker {}", e.getStateTransition()));
        meters.gauge("tally.ingest.breaker.open", breaker, b -> b.getState() == CircuitBreaker.State.OPEN ? 1 : 0);
    }

    /** The breaker's state: OPEN while appends are refused at once after repeated broker failures. */
    public CircuitBreaker.State breakerState() {
        return breaker.getState();
    }

    /** Writes every event durably or throws {@link EventLogUnavailableException}. */
    public void append(List<Event> events) {
        try {
            breaker.executeRunnable(() -> sendAll(events));
        } catch (CallNotPermittedException e) {
            throw new EventLogUnavailableException("the event log is unavailable (circuit open)", retryAfterSeconds, e);
        }
    }

    private void sendAll(List<Event> events) {
        // One span for the request's append (not one per event); its context rides in each record's headers when sampled.
        Span span = tracer.spanBuilder(Topics.EVENTS + " publish").setSpanKind(SpanKind.PRODUCER)
            .setAttribute("messaging.system", "kafka").setAttribute("messaging.destination.name", Topics.EVENTS)
            .setAttribute("messaging.batch.message_count", (long) events.size()).startSpan();
        try (Scope scope = span.makeCurrent()) {
            send(events, Context.current());
        } catch (RuntimeException e) {
            span.setStatus(StatusCode.ERROR, e.getMessage());
            throw e;
        } finally {
            span.end();
        }
    }

    private void send(List<Event> events, Context trace) {
        long deadline = time.nanos() + ackTimeout.toNanos();
        CompletableFuture<?>[] acks = new CompletableFuture<?>[events.size()];
        byte[] traceparent = KafkaTraces.traceparent(trace);
        try {
            for (int i = 0; i < events.size(); i++) {
                Event event = events.get(i);
                Headers headers = new RecordHeaders();
                if (traceparent != null) {
                    headers.add(KafkaTraces.TRACEPARENT, traceparent);
                }
                acks[i] = topic.append(event.partitionKey(), EventCodec.encode(event), headers);
            }
            CompletableFuture.allOf(acks).get(Math.max(0, deadline - time.nanos()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new EventLogUnavailableException("the broker did not acknowledge the events in " + ackTimeout.toSeconds() + " s", retryAfterSeconds, e);
        } catch (ExecutionException e) {
            throw new EventLogUnavailableException("the broker refused the events: " + e.getCause().getMessage(), retryAfterSeconds, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EventLogUnavailableException("interrupted while waiting for the broker", retryAfterSeconds, e);
        } catch (RuntimeException e) {
            // A send fails at once when metadata cannot be fetched within max.block.ms (broker down).
            throw new EventLogUnavailableException("the broker is unreachable: " + e.getMessage(), retryAfterSeconds, e);
        }
    }
}
