package io.tally.telemetry;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KafkaTracesTest {

    private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String SPAN = "00f067aa0ba902b7";

    private static Context context(TraceFlags flags) {
        return Context.root().with(Span.wrap(SpanContext.create(TRACE, SPAN, flags, TraceState.getDefault())));
    }

    @Test
    void aSampledContextGoesIntoTheHeadersAndComesBackOut() {
        RecordHeaders headers = new RecordHeaders();
        assertTrue(KafkaTraces.inject(context(TraceFlags.getSampled()), headers));
        assertEquals("00-" + TRACE + "-" + SPAN + "-01", new String(headers.lastHeader("traceparent").value(), StandardCharsets.US_ASCII));
        SpanContext parent = KafkaTraces.sampledParent(headers);
        assertNotNull(parent);
        assertEquals(TRACE, parent.getTraceId());
        assertEquals(SPAN, parent.getSpanId());
        assertTrue(parent.isRemote());
    }

    @Test
    void theValueIsComputedOnceForARequestsRecords() {
        assertEquals("00-" + TRACE + "-" + SPAN + "-01", new String(KafkaTraces.traceparent(context(TraceFlags.getSampled())), StandardCharsets.US_ASCII));
        assertNull(KafkaTraces.traceparent(context(TraceFlags.getDefault())));
    }

    @Test
    void anUnsampledContextCostsNoHeader() {
        RecordHeaders headers = new RecordHeaders();
        assertFalse(KafkaTraces.inject(context(TraceFlags.getDefault()), headers));
        assertFalse(headers.iterator().hasNext());
        assertFalse(KafkaTraces.inject(Context.root(), headers));
        assertNull(KafkaTraces.sampledParent(headers));
    }

    @Test
    void aRecordWithAnUnsampledOrBrokenTraceparentHasNoParent() {
        for (String value : new String[] {"00-" + TRACE + "-" + SPAN + "-00", "00-" + TRACE + "-" + SPAN + "-0z", "garbage",
            "00-00000000000000000000000000000000-" + SPAN + "-01", ""}) {
            RecordHeaders headers = new RecordHeaders();
            headers.add("traceparent", value.getBytes(StandardCharsets.US_ASCII));
            assertNull(KafkaTraces.sampledParent(headers), value);
        }
    }

    @Test
    void injectingAgainReplacesTheHeader() {
        RecordHeaders headers = new RecordHeaders();
        headers.add("traceparent", "00-11111111111111111111111111111111-2222222222222222-01".getBytes(StandardCharsets.US_ASCII));
        KafkaTraces.inject(context(TraceFlags.getSampled()), headers);
        int count = 0;
        for (var h : headers.headers("traceparent")) {
            count++;
        }
        assertEquals(1, count);
        assertEquals(TRACE, KafkaTraces.sampledParent(headers).getTraceId());
    }
}
