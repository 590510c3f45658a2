package io.tally.telemetry;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TelemetryDefaultsTest {

    @Test
    void offByDefaultNothingIsRecordedOrExported() {
        Map<String, Object> settings = TelemetryDefaults.settings(Map.of());
        assertEquals("none", settings.get("otel.traces.exporter"));
        assertEquals("always_off", settings.get("otel.traces.sampler"));
        assertEquals("none", settings.get("otel.metrics.exporter"));
        assertEquals("none", settings.get("otel.logs.exporter"));
        assertEquals(true, settings.get("micronaut.metrics.binders.web.server.histogram"));
    }

    @Test
    void zipkinWithItsEndpointAndRatio() {
        Map<String, Object> settings = TelemetryDefaults.settings(Map.of("TALLY_TRACING_EXPORTER", "Zipkin",
            "TALLY_TRACING_ENDPOINT", "http://127.0.0.1:9999/api/v2/spans", "TALLY_TRACING_SAMPLE_RATIO", "0.25"));
        assertEquals("zipkin", settings.get("otel.traces.exporter"));
        assertEquals("parentbased_traceidratio", settings.get("otel.traces.sampler"));
        assertEquals("0.25", settings.get("otel.traces.sampler.arg"));
        assertEquals("http://127.0.0.1:9999/api/v2/spans", settings.get("otel.exporter.zipkin.endpoint"));
    }

    @Test
    void otlpOverHttpByDefaultToALocalCollector() {
        Map<String, Object> settings = TelemetryDefaults.settings(Map.of("TALLY_TRACING_EXPORTER", "otlp"));
        assertEquals("otlp", settings.get("otel.traces.exporter"));
        assertEquals("http/protobuf", settings.get("otel.exporter.otlp.protocol"));
        assertEquals("http://127.0.0.1:4318", settings.get("otel.exporter.otlp.endpoint"));
        assertEquals("0.01", settings.get("otel.traces.sampler.arg"));
    }

    @Test
    void badSettingsSayWhatIsAllowed() {
        var exporter = assertThrows(IllegalArgumentException.class, () -> TelemetryDefaults.settings(Map.of("TALLY_TRACING_EXPORTER", "jaeger")));
        assertTrue(exporter.getMessage().contains("none, otlp or zipkin"), exporter.getMessage());
        for (String ratio : new String[] {"1.5", "-0.1", "half", "NaN"}) {
            var bad = assertThrows(IllegalArgumentException.class,
                () -> TelemetryDefaults.settings(Map.of("TALLY_TRACING_EXPORTER", "otlp", "TALLY_TRACING_SAMPLE_RATIO", ratio)));
            assertTrue(bad.getMessage().contains("from 0 to 1"), bad.getMessage());
        }
    }
}
