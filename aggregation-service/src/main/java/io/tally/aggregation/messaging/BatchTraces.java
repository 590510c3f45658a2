package io.tally.aggregation.messaging;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import io.tally.telemetry.KafkaTraces;
import org.apache.kafka.common.header.Headers;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The traces of a batch's events: a record whose producer's span was sampled ({@code traceparent} in its headers,
 * {@link KafkaTraces}) gets a consumer span in that same trace, from when it was read to when its batch was applied,
 * and the batch gets one span linked to all of them. Records without a sampled context cost one header lookup and
 * nothing else; at most {@value #MAX_PER_BATCH} records of a batch are traced, so tracing never grows with its size.
 */
final class BatchTraces {

    static final int MAX_PER_BATCH = 32;
    private static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("messaging.system");
    private static final AttributeKey<String> DESTINATION = AttributeKey.stringKey("messaging.destination.name");
    private static final AttributeKey<Long> PARTITION = AttributeKey.longKey("messaging.destination.partition.id");
    private static final AttributeKey<Long> OFFSET = AttributeKey.longKey("messaging.kafka.offset");
    private static final AttributeKey<String> TENANT = AttributeKey.stringKey("tally.tenant");
    private static final AttributeKey<Long> EVENTS = AttributeKey.longKey("tally.batch.events");

    private record Traced(SpanContext parent, int partition, long offset, String tenant, Instant readAt) {
    }

    private final Tracer tracer;
    private final TimeSource time;
    private final List<Traced> traced = new ArrayList<>();

    BatchTraces(OpenTelemetry telemetry, TimeSource time) {
        this(telemetry.getTracer("io.tally.aggregation"), time);
    }

    private BatchTraces(Tracer tracer, TimeSource time) {
        this.time = time;
        this.tracer = tracer;
    }

    /** A record read into the batch. */
    void read(Headers headers, int partition, long offset, String tenant) {
        if (traced.size() >= MAX_PER_BATCH) {
            return;
        }
        SpanContext parent = KafkaTraces.sampledParent(headers);
        if (parent != null) {
            traced.add(new Traced(parent, partition, offset, tenant, time.instant()));
        }
    }

    /**
     * The batch that started at {@code started} was applied: ends the spans. Returns, per tenant, the context of one of
     * its traced events, for the announcements of its rules to carry on to the subscribers' push.
     */
    Map<String, Context> applied(Instant started, long events) {
        if (traced.isEmpty()) {
            return Map.of();
        }
        Instant now = time.instant();
        Map<String, Context> byTenant = new HashMap<>();
        List<SpanContext> processed = new ArrayList<>(traced.size());
        for (Traced t : traced) {
            Span span = tracer.spanBuilder(Topics.EVENTS + " process").setSpanKind(SpanKind.CONSUMER)
                .setParent(Context.root().with(Span.wrap(t.parent())))
                .setStartTimestamp(t.readAt())
                .setAllAttributes(Attributes.of(SYSTEM, "kafka", DESTINATION, Topics.EVENTS, PARTITION, (long) t.partition(), OFFSET, t.offset()))
                .setAttribute(TENANT, t.tenant())
                .startSpan();
            span.end(now);
            processed.add(span.getSpanContext());
            byTenant.putIfAbsent(t.tenant(), Context.root().with(span));
        }
        // The batch belongs to its first traced event's trace, and links to the others.
        SpanBuilder batch = tracer.spanBuilder("aggregation batch").setSpanKind(SpanKind.INTERNAL)
            .setParent(Context.root().with(Span.wrap(processed.getFirst())))
            .setStartTimestamp(started)
            .setAttribute(EVENTS, events);
        processed.forEach(batch::addLink);
        batch.startSpan().end(now);
        return byTenant;
    }

    void clear() {
        traced.clear();
    }

    /** The records traced so far, as a batch of their own; this one starts empty again (the next batch is read meanwhile). */
    BatchTraces takeBatch() {
        BatchTraces batch = new BatchTraces(tracer, time);
        batch.traced.addAll(traced);
        traced.clear();
        return batch;
    }
}
