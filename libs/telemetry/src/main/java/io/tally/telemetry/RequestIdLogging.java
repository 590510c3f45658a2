package io.tally.telemetry;

import io.micronaut.context.propagation.slf4j.MdcPropagationContext;
import io.micronaut.core.propagation.MutablePropagatedContext;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;

import java.util.Map;

/**
 * Puts the request's {@code X-Request-Id} (set by the gateway, echoed to the client) in the logging context of
 * everything that handles it, as {@code request_id}: a log line says which request it belongs to, next to the
 * {@code trace_id} and {@code span_id} of its trace.
 */
@ServerFilter(ServerFilter.MATCH_ALL_PATTERN)
public final class RequestIdLogging {

    /** The MDC key. */
    public static final String KEY = "request_id";

    @RequestFilter
    public void requestId(HttpRequest<?> request, MutablePropagatedContext context) {
        String id = request.getHeaders().get("X-Request-Id");
        if (id != null && !id.isEmpty() && id.length() <= 200) {
            context.add(new MdcPropagationContext(Map.of(KEY, id)));
        }
    }
}
