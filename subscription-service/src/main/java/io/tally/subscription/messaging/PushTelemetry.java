package io.tally.subscription.messaging;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.tally.model.TimeSource;
import io.tally.subscription.domain.Fanout;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * Each push to a rule's subscribers: {@code tally_subscriptions_push_latency_seconds} (from the oldest announcement it
 * covers being written to {@code tally.updates} to its values offered to the subscriptions' sockets), and, when an
 * announcement carried a sampled trace, a {@code subscription push} span in that event's trace.
 */
final class PushTelemetry implements Fanout.Pushes {

    private final Timer latency;
    private final Tracer tracer;
    private final TimeSource time;

    PushTelemetry(MeterRegistry meters, OpenTelemetry telemetry, TimeSource time) {
        this.time = time;
        this.latency = Timer.builder("tally.subscriptions.push.latency")
            .description("From a change's announcement on tally.updates to its values offered to the subscribers' sockets")
            .serviceLevelObjectives(Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
                Duration.ofMillis(200), Duration.ofMillis(500), Duration.ofSeconds(1))
            .register(meters);
        this.tracer = telemetry.getTracer("io.tally.subscription");
    }

    @Override
    public void pushed(String tenant, String ruleId, long announcedAt, long readAt, Context trace, int subscriptions) {
        long now = time.millis();
        latency.record(Math.max(0, now - announcedAt), TimeUnit.MILLISECONDS);
        if (trace != null) {
            tracer.spanBuilder("subscription push").setSpanKind(SpanKind.CONSUMER).setParent(trace)
                .setStartTimestamp(Instant.ofEpochMilli(readAt))
                .setAttribute("tally.tenant", tenant).setAttribute("tally.rule", ruleId)
                .setAttribute("tally.subscriptions", (long) subscriptions)
                .startSpan().end(Instant.ofEpochMilli(now));
        }
    }
}
