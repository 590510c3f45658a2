package io.tally.telemetry;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * W3C trace context ({@code traceparent}) in Kafka record headers, so a trace crosses the log as one trace: the
 * producer writes the context of its span, the consumer continues it. Only a sampled context is written, so an
 * event that is not traced costs no header and the consumer does nothing for it ({@link #sampledParent} looks at one
 * byte before it parses anything).
 */
public final class KafkaTraces {

    /** The header, as in HTTP. */
    public static final String TRACEPARENT = "traceparent";

    private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();
    private static final TextMapSetter<Headers> SETTER = (headers, key, value) -> {
        if (headers != null) {
            headers.remove(key);
            headers.add(key, value.getBytes(StandardCharsets.US_ASCII));
        }
    };
    private static final TextMapGetter<Headers> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Headers headers) {
            List<String> keys = new ArrayList<>();
            headers.forEach(h -> keys.add(h.key()));
            return keys;
        }

        @Override
        public String get(Headers headers, String key) {
            Header header = headers == null ? null : headers.lastHeader(key);
            return header == null ? null : new String(header.value(), StandardCharsets.US_ASCII);
        }
    };

    private KafkaTraces() {
    }

    /** Writes the context's span into the headers when that span is sampled; returns whether it did. */
    public static boolean inject(Context context, Headers headers) {
        if (!Span.fromContext(context).getSpanContext().isSampled()) {
            return false;
        }
        W3C.inject(context, headers, SETTER);
        return true;
    }

    /**
     * The {@code traceparent} value of the context's span when it is sampled, else {@code null}: computed once for a
     * request whose many records all carry it ({@code headers().add(TRACEPARENT, value)}).
     */
    public static byte[] traceparent(Context context) {
        if (!Span.fromContext(context).getSpanContext().isSampled()) {
            return null;
        }
        RecordHeaders carrier = new RecordHeaders();
        W3C.inject(context, carrier, SETTER);
        Header header = carrier.lastHeader(TRACEPARENT);
        return header == null ? null : header.value();
    }

    /** The sampled span context a record carries, or {@code null} when it carries none (or one not sampled). */
    public static SpanContext sampledParent(Headers headers) {
        Header header = headers.lastHeader(TRACEPARENT);
        if (header == null || !sampledFlag(header.value())) {
            return null;
        }
        SpanContext parent = Span.fromContext(W3C.extract(Context.root(), headers, GETTER)).getSpanContext();
        return parent.isValid() && parent.isSampled() ? parent : null;
    }

    /** The sampled bit of a {@code 00-<trace>-<span>-<flags>} value, read from its last hex digit. */
    static boolean sampledFlag(byte[] traceparent) {
        if (traceparent.length < 55) {
            return false;
        }
        int digit = Character.digit(traceparent[54], 16);
        return digit >= 0 && (digit & 1) == 1;
    }
}
