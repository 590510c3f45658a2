package io.tally.telemetry;

import io.micronaut.context.ApplicationContextBuilder;
import io.micronaut.context.ApplicationContextConfigurer;
import io.micronaut.context.annotation.ContextConfigurer;
import io.micronaut.context.env.PropertySource;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The settings every service shares for being observed, below its own application.yml (which may override any):
 * <ul>
 *   <li>Tracing, from the environment: {@code TALLY_TRACING_EXPORTER} {@code none} (the default: no span is recorded),
 *       {@code otlp} (OTLP over HTTP to {@code TALLY_TRACING_ENDPOINT}, default {@code http://127.0.0.1:4318}) or
 *       {@code zipkin} (to {@code TALLY_TRACING_ENDPOINT}, default {@code http://127.0.0.1:9411/api/v2/spans});
 *       {@code TALLY_TRACING_SAMPLE_RATIO} of the traces that start here are kept (default 0.01), and a caller's
 *       sampled {@code traceparent} is always followed. Health and metrics requests are never traced.</li>
 *   <li>Request latency histograms for {@code http_server_requests_seconds} (and the client's), so p99 can be taken
 *       over a fleet.</li>
 * </ul>
 */
@ContextConfigurer
public final class TelemetryDefaults implements ApplicationContextConfigurer {

    /** Below application.yml, environment variables and system properties. */
    static final int ORDER = -1000;

    @Override
    public void configure(ApplicationContextBuilder builder) {
        builder.propertySources(PropertySource.of("tally-telemetry", settings(System.getenv()), ORDER));
    }

    static Map<String, Object> settings(Map<String, String> env) {
        String exporter = env.getOrDefault("TALLY_TRACING_EXPORTER", "none").strip().toLowerCase(Locale.ROOT);
        if (!List.of("none", "otlp", "zipkin").contains(exporter)) {
            throw new IllegalArgumentException("TALLY_TRACING_EXPORTER must be none, otlp or zipkin, not '" + exporter + "'");
        }
        String ratio = env.getOrDefault("TALLY_TRACING_SAMPLE_RATIO", "0.01").strip();
        double parsed;
        try {
            parsed = Double.parseDouble(ratio);
        } catch (NumberFormatException e) {
            parsed = -1;
        }
        if (!(parsed >= 0 && parsed <= 1)) {
            throw new IllegalArgumentException("TALLY_TRACING_SAMPLE_RATIO must be a number from 0 to 1, not '" + ratio + "'");
        }
        String endpoint = env.get("TALLY_TRACING_ENDPOINT");
        Map<String, Object> settings = new HashMap<>();
        settings.put("otel.traces.exporter", exporter);
        settings.put("otel.metrics.exporter", "none");
        settings.put("otel.logs.exporter", "none");
        settings.put("otel.propagators", "tracecontext,baggage");
        // Off: nothing is recorded (spans are no-ops) though a caller's trace id still passes through.
        settings.put("otel.traces.sampler", exporter.equals("none") ? "always_off" : "parentbased_traceidratio");
        settings.put("otel.traces.sampler.arg", Double.toString(parsed));
        settings.put("otel.exporter.otlp.protocol", "http/protobuf");
        settings.put("otel.exporter.otlp.endpoint", endpoint != null && exporter.equals("otlp") ? endpoint : "http://127.0.0.1:4318");
        settings.put("otel.exporter.zipkin.endpoint", endpoint != null && exporter.equals("zipkin") ? endpoint : "http://127.0.0.1:9411/api/v2/spans");
        settings.put("otel.exclusions", List.of("/health.*", "/prometheus"));
        settings.put("micronaut.metrics.binders.web.server.histogram", true);
        // Kafka clients are measured by Micrometer's KafkaClientMetrics (Observed.kafka), one naming for hand-built and
        // micronaut-kafka clients alike; micronaut-kafka's own reporter would register the same names with other tags.
        settings.put("micronaut.metrics.binders.kafka.enabled", false);
        settings.put("micronaut.metrics.binders.web.client.histogram", true);
        return settings;
    }
}
