package io.tally.gateway.api;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Patch;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.tally.gateway.auth.BearerAuthenticator;
import io.tally.gateway.auth.Caller;
import io.tally.gateway.auth.TokenRejected;
import io.tally.gateway.ratelimit.Decision;
import io.tally.gateway.ratelimit.Limits;
import io.tally.gateway.ratelimit.TenantRateLimiter;
import io.tally.gateway.routing.DownstreamUnavailable;
import io.tally.gateway.routing.Downstreams;
import io.tally.gateway.routing.EventCounter;
import io.tally.gateway.routing.Forwarded;
import io.tally.gateway.routing.Route;
import io.tally.gateway.routing.TenantCosts;
import io.tally.internal.InternalKey;
import io.tally.internal.InternalToken;
import io.tally.model.TallyHeaders;
import io.tally.model.TimeSource;
import io.tally.problem.FieldError;
import io.tally.problem.Problem;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * The public door (API.md): route → authenticate (401) → authorize by role (403) → take tokens from the
 * tenant's bucket (429) → forward with the tenant header set from the token (any incoming one is dropped)
 * → relay the answer. Every answer to an authenticated caller carries the RateLimit-* headers.
 */
@Controller
@ExecuteOn(TaskExecutors.BLOCKING)
public class GatewayController {

    private static final String NDJSON = "application/x-ndjson";
    /** Request headers passed downstream; everything else (Authorization, tenant headers, hop-by-hop) stays here. */
    /** A caller's traceparent is not passed on as is: the gateway's own span continues its trace (Downstreams). */
    private static final List<String> PASSED = List.of("Content-Type", "Accept", "If-Match", "If-None-Match");

    private final BearerAuthenticator authenticator;
    private final TenantRateLimiter limiter;
    private final Downstreams downstreams;
    private final MeterRegistry meters;
    private final Timer authenticating;
    private final Timer limiting;
    private final Timer forwarding;
    private final InternalKey internalKey;
    private final TenantCosts costs;
    private final TimeSource time;

    public GatewayController(BearerAuthenticator authenticator, TenantRateLimiter limiter, Downstreams downstreams, MeterRegistry meters,
                             InternalKey internalKey, TenantCosts costs, TimeSource time) {
        this.time = time;
        this.internalKey = internalKey;
        this.costs = costs;
        this.authenticator = authenticator;
        this.limiter = limiter;
        this.downstreams = downstreams;
        this.meters = meters;
        this.authenticating = meters.timer("tally.gateway.phase", "phase", "authenticate");
        this.limiting = meters.timer("tally.gateway.phase", "phase", "rate-limit");
        this.forwarding = meters.timer("tally.gateway.phase", "phase", "forward");
    }

    @Get(uri = "/api/{+path}", produces = MediaType.ALL)
    public HttpResponse<?> get(HttpRequest<?> request, @PathVariable String path) {
        return handle(request, null);
    }

    @Post(uri = "/api/{+path}", consumes = MediaType.ALL, produces = MediaType.ALL)
    public HttpResponse<?> post(HttpRequest<?> request, @PathVariable String path, @Body @Nullable byte[] body) {
        return handle(request, body);
    }

    @Put(uri = "/api/{+path}", consumes = MediaType.ALL, produces = MediaType.ALL)
    public HttpResponse<?> put(HttpRequest<?> request, @PathVariable String path, @Body @Nullable byte[] body) {
        return handle(request, body);
    }

    @Delete(uri = "/api/{+path}", consumes = MediaType.ALL, produces = MediaType.ALL)
    public HttpResponse<?> delete(HttpRequest<?> request, @PathVariable String path, @Body @Nullable byte[] body) {
        return handle(request, body);
    }

    @Patch(uri = "/api/{+path}", consumes = MediaType.ALL, produces = MediaType.ALL)
    public HttpResponse<?> patch(HttpRequest<?> request, @PathVariable String path, @Body @Nullable byte[] body) {
        return handle(request, body);
    }

    private HttpResponse<?> handle(HttpRequest<?> request, byte[] body) {
        Timer.Sample timer = Timer.start(meters);
        String method = request.getMethodName();
        String path = request.getPath();
        Route.Match match = Route.match(method, path);
        if (match instanceof Route.NotFound) {
            return problem(request, HttpStatus.NOT_FOUND, "Not found", "No such endpoint: " + method + " " + path + ". See API.md.", null);
        }
        if (match instanceof Route.MethodNotAllowed(var allowed)) {
            return problem(request, HttpStatus.METHOD_NOT_ALLOWED, "Method not allowed",
                method + " is not supported on " + path + "; use " + String.join(", ", new TreeSet<>(allowed)) + ".", null)
                .header("Allow", String.join(", ", new TreeSet<>(allowed)));
        }
        Route route = ((Route.Found) match).route();
        Caller caller;
        long authStart = time.nanos();
        try {
            caller = authenticator.authenticate(request, route.service() == Route.Service.SUBSCRIPTION);
            authenticating.record(time.nanos() - authStart, TimeUnit.NANOSECONDS);
        } catch (TokenRejected e) {
            meters.counter("tally.gateway.auth.rejected").increment();
            return problem(request, HttpStatus.UNAUTHORIZED, "Unauthorized", e.getMessage() + ".", null)
                .header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        }
        Decision decision = null;
        MutableHttpResponse<?> response;
        if (!caller.hasAnyRole(route.roles())) {
            // Still a request of this tenant: it costs one query token, and its answer shows the bucket.
            decision = limiter.take(caller.tenant(), Limits.Kind.QUERY, 1);
            response = problem(request, HttpStatus.FORBIDDEN, "Forbidden", "This needs the role " + String.join(" or ", new TreeSet<>(route.roles()))
                + "; the token has " + (caller.roles().isEmpty() ? "none" : String.join(", ", new TreeSet<>(caller.roles()))) + ".", null);
            rateLimitHeaders(response, decision);
        } else {
            long cost = route.bucket() == Limits.Kind.INGEST ? EventCounter.count(body, isNdjson(request)) : 1;
            long limitStart = time.nanos();
            // Ingest also pays for what its events make the engine do: the state cells they update over the tenant's rules.
            long cellsPerEvent = route.bucket() == Limits.Kind.INGEST ? costs.cellsPerEvent(caller.tenant()) : 0;
            Decision fold = cellsPerEvent > 0 && cost > 0 ? limiter.take(caller.tenant(), Limits.Kind.FOLD, cost * cellsPerEvent) : null;
            decision = fold != null && !fold.allowed() ? fold : limiter.take(caller.tenant(), route.bucket(), cost);
            limiting.record(time.nanos() - limitStart, TimeUnit.NANOSECONDS);
            if (decision == fold) {
                response = refusedFold(request, fold, cost, cellsPerEvent);
            } else if (!decision.allowed()) {
                response = refused(request, decision, route, cost);
            } else if (route.service() == Route.Service.SUBSCRIPTION) {
                response = problem(request, HttpStatus.UPGRADE_REQUIRED, "Upgrade required",
                    "Subscriptions are a WebSocket: connect with a WebSocket client (ws://…/api/v1/subscriptions) and send "
                        + "{\"op\":\"subscribe\",\"id\":\"…\",\"ruleId\":\"…\"}.", null)
                    .header("Upgrade", "websocket").header("Connection", "Upgrade");
            } else if (route.service() == Route.Service.GATEWAY) {
                response = limitsOf(caller.tenant());
            } else {
                response = forward(request, route, caller, body);
            }
            rateLimitHeaders(response, decision);
        }
        timer.stop(meters.timer("tally.gateway.requests", "service", route.service().name().toLowerCase(Locale.ROOT),
            "status", Integer.toString(response.code())));
        return response;
    }

    private MutableHttpResponse<?> refused(HttpRequest<?> request, Decision decision, Route route, long cost) {
        if ("unavailable".equals(decision.source())) {
            return problem(request, HttpStatus.SERVICE_UNAVAILABLE, "Service unavailable",
                "Rate limits cannot be checked right now; retry after Retry-After seconds.", null)
                .header("Retry-After", Long.toString(decision.retryAfterSeconds()));
        }
        String what = route.bucket() == Limits.Kind.INGEST ? cost + " events" : "this request";
        return problem(request, HttpStatus.TOO_MANY_REQUESTS, "Too many requests",
            "The tenant's " + route.bucket().name().toLowerCase(Locale.ROOT) + " limit has no room for " + what + " (" + decision.remaining()
                + " tokens left of " + decision.limit() + "); nothing was forwarded. Retry after Retry-After seconds.", null)
            .header("Retry-After", Long.toString(decision.retryAfterSeconds()));
    }

    /**
     * A read pays for what it read: one query token covers {@value #VALUES_PER_QUERY_TOKEN} stored values, and each
     * further thousand costs one more, charged after the answer (so the tenant's next reads wait), not up front.
     */
    private void chargeValuesRead(String tenant, Forwarded answer) {
        List<String> read = answer.valuesRead();
        if (read == null || read.isEmpty()) {
            return;
        }
        try {
            long extra = Long.parseLong(read.getFirst()) / VALUES_PER_QUERY_TOKEN;
            limiter.charge(tenant, Limits.Kind.QUERY, extra);
        } catch (NumberFormatException e) {
            // not from our query service: nothing to charge
        }
    }

    /** Stored values one query token pays for. */
    static final long VALUES_PER_QUERY_TOKEN = 1000;

    private MutableHttpResponse<?> refusedFold(HttpRequest<?> request, Decision decision, long events, long cellsPerEvent) {
        if ("unavailable".equals(decision.source())) {
            return refused(request, decision, null, events);
        }
        long cells = events * cellsPerEvent;
        String advice = cells > decision.limit()
            ? "Send at most " + Math.max(1, decision.limit() / cellsPerEvent) + " events per request"
            : "Retry after Retry-After seconds, or send fewer events per second";
        return problem(request, HttpStatus.TOO_MANY_REQUESTS, "Too many requests",
            "The tenant's rules make each event update " + cellsPerEvent + " state cells, and its fold limit has no room for the "
                + events + " events of this request (" + cells + " cells; " + decision.remaining() + " left of " + decision.limit()
                + "); nothing was forwarded. " + advice + "; cheaper rules (a longer slide, fewer aggregations) cost less."
                + " GET /api/v1/usage shows the cost.", null)
            .header("Retry-After", Long.toString(decision.retryAfterSeconds()));
    }

    private MutableHttpResponse<?> forward(HttpRequest<?> request, Route route, Caller caller, byte[] body) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (String name : PASSED) {
            String value = request.getHeaders().get(name);
            if (value != null) {
                headers.put(name, value);
            }
        }
        headers.put(TallyHeaders.TENANT, caller.tenant());
        headers.put(TallyHeaders.ROLES, String.join(",", new TreeSet<>(caller.roles())));
        headers.put(TallyHeaders.REQUEST_ID, RequestIds.of(request));
        // The service checks that the gateway vouches for exactly this caller, method and path.
        headers.put(InternalToken.HEADER, internalKey.sign(caller.tenant(), List.copyOf(new TreeSet<>(caller.roles())), request.getMethodName(),
            request.getUri().getRawPath()));
        String query = request.getUri().getRawQuery();
        String target = request.getUri().getRawPath() + (query == null ? "" : "?" + query);
        String coalesce = "GET".equals(request.getMethodName()) ? caller.tenant() + " " + target + " " + headers.getOrDefault("Accept", "") : null;
        try {
            long forwardStart = time.nanos();
            Forwarded answer = downstreams.call(route.service(), request.getMethodName(), target, headers, body, coalesce);
            forwarding.record(time.nanos() - forwardStart, TimeUnit.NANOSECONDS);
            chargeValuesRead(caller.tenant(), answer);
            MutableHttpResponse<byte[]> response = HttpResponse.status(HttpStatus.valueOf(answer.status()));
            answer.headers().forEach((name, values) -> values.forEach(v -> response.getHeaders().add(name, v)));
            if (answer.body() != null && answer.body().length > 0) {
                response.body(answer.body());
            }
            return response;
        } catch (DownstreamUnavailable e) {
            return problem(request, e.status() == 504 ? HttpStatus.GATEWAY_TIMEOUT : HttpStatus.SERVICE_UNAVAILABLE,
                e.status() == 504 ? "Gateway timeout" : "Service unavailable",
                e.getMessage() + "; retry after Retry-After seconds.", null)
                .header("Retry-After", Integer.toString(e.retryAfterSeconds()));
        }
    }

    /**
     * {@code GET /api/v1/limits}: the tenant's buckets as the gateway sees them (rate, burst, tokens left now), so a
     * producer or the console can tell its headroom before it is refused.
     */
    private MutableHttpResponse<?> limitsOf(String tenant) {
        Map<String, Object> buckets = new LinkedHashMap<>();
        for (Limits.Kind kind : Limits.Kind.values()) {
            TenantRateLimiter.Headroom headroom = limiter.peek(tenant, kind);
            Map<String, Object> bucket = new LinkedHashMap<>();
            bucket.put("rate", headroom.rate());
            bucket.put("burst", headroom.burst());
            if (headroom.remaining() >= 0) {
                bucket.put("remaining", headroom.remaining());
            }
            bucket.put("shared", "redis".equals(headroom.source()));
            buckets.put(kind.name().toLowerCase(Locale.ROOT), bucket);
        }
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("tenant", tenant);
        answer.put("buckets", buckets);
        return HttpResponse.ok(answer).contentType(MediaType.APPLICATION_JSON_TYPE);
    }

    static void rateLimitHeaders(MutableHttpResponse<?> response, Decision decision) {
        if (decision == null) {
            return;
        }
        response.header("RateLimit-Limit", Long.toString(decision.limit()));
        response.header("RateLimit-Remaining", Long.toString(decision.remaining()));
        response.header("RateLimit-Reset", Long.toString(decision.resetSeconds()));
    }

    private static boolean isNdjson(HttpRequest<?> request) {
        String type = request.getHeaders().get("Content-Type");
        return type != null && type.toLowerCase(Locale.ROOT).startsWith(NDJSON);
    }

    static MutableHttpResponse<Problem> problem(HttpRequest<?> request, HttpStatus status, String title, String detail,
                                                        List<FieldError> errors) {
        return HttpResponse.<Problem>status(status).contentType(Problem.MEDIA_TYPE)
            .body(new Problem(Problem.BLANK_TYPE, title, status.getCode(), detail, request.getPath(), errors));
    }
}
