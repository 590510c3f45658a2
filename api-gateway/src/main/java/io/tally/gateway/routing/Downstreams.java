package io.tally.gateway.routing;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
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
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.tally.gateway.config.GatewayConfig;
import io.tally.telemetry.Observed;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Calls the services behind the gateway: per downstream a resilience4j circuit breaker, a timeout and a
 * bulkhead, so that a sick service costs callers a fast 503 instead of threads. Identical concurrent GETs
 * (same tenant, path and query) share one downstream call.
 */
@Singleton
public class Downstreams {

    private static final Logger LOG = LoggerFactory.getLogger(Downstreams.class);
    /** Response headers relayed to clients (hop-by-hop and internal ones stay behind). */
    private static final Set<String> RELAYED = Set.of("content-type", "location", "etag", "retry-after", "cache-control", "allow",
        "www-authenticate");

    private record Target(String name, URI base, CircuitBreaker breaker, Bulkhead bulkhead) {
    }

    private final Map<Route.Service, Target> targets = new EnumMap<>(Route.Service.class);
    private final Map<String, CompletableFuture<Forwarded>> inflight = new ConcurrentHashMap<>();
    private final HttpClient http;
    private final Tracer tracer;
    private final TextMapPropagator propagator;
    private final Duration timeout;
    private final Duration openFor;
    private final MeterRegistry meters;

    public Downstreams(GatewayConfig config, MeterRegistry meters, OpenTelemetry telemetry) {
        this.tracer = telemetry.getTracer("io.tally.gateway");
        this.propagator = telemetry.getPropagators().getTextMapPropagator();
        this.timeout = config.downstreamTimeout();
        this.openFor = config.breakerOpenFor();
        this.meters = meters;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2))
            .executor(Runnable::run).build(); // completions run on the selector thread: no hop through a pool per response
        add(Route.Service.INGESTION, config.ingestionUrl(), config);
        add(Route.Service.RULES, config.rulesUrl(), config);
        add(Route.Service.QUERY, config.queryUrl(), config);
        add(Route.Service.SUBSCRIPTION, config.subscriptionUrl(), config);
    }

    private void add(Route.Service service, String url, GatewayConfig config) {
        String name = service.name().toLowerCase(Locale.ROOT);
        CircuitBreaker breaker = Observed.breaker(meters, "downstream-" + name, CircuitBreakerConfig.custom()
            .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
            .slidingWindowSize(20)
            .minimumNumberOfCalls(5)
            .failureRateThreshold(50)
            .waitDurationInOpenState(config.breakerOpenFor())
            .permittedNumberOfCallsInHalfOpenState(2)
            .automaticTransitionFromOpenToHalfOpenEnabled(false)
            .recordExceptions(IOException.class, TimeoutException.class)
            // Only what says the service itself cannot be reached: a 500 is one request's bug (perhaps one tenant's
            // input) and must not open the breaker for every tenant; a 503 comes fast from a service whose own
            // dependency is away and which has its own breaker (counting it too made the two breakers' open
            // periods chase each other after a Redis failover: reads came back seconds later).
            .recordResult(r -> r instanceof Forwarded f && (f.status() == 502 || f.status() == 504))
            .build());
        breaker.getEventPublisher().onStateTransition(e -> LOG.warn("downstream {} ({}): breaker {}", name, url, e.getStateTransition()));
        Bulkhead bulkhead = Bulkhead.of(name, BulkheadConfig.custom().maxConcurrentCalls(config.maxConcurrent()).maxWaitDuration(Duration.ZERO).build());
        targets.put(service, new Target(name + "-service", URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url), breaker, bulkhead));
    }

    /** Where a service answers (for the WebSocket proxy and diagnostics). */
    public URI base(Route.Service service) {
        return targets.get(service).base();
    }

    /**
     * Sends one request downstream. {@code coalesceKey} non-null (GETs): concurrent calls with the same key
     * share the first one's answer.
     */
    public Forwarded call(Route.Service service, String method, String pathAndQuery, Map<String, String> headers, byte[] body,
                          String coalesceKey) throws DownstreamUnavailable {
        if (coalesceKey == null) {
            return send(service, method, pathAndQuery, headers, body);
        }
        CompletableFuture<Forwarded> mine = new CompletableFuture<>();
        CompletableFuture<Forwarded> leader = inflight.putIfAbsent(coalesceKey, mine);
        if (leader != null) {
            meters.counter("tally.gateway.coalesced").increment();
            try {
                return leader.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof DownstreamUnavailable u) {
                    throw u;
                }
                throw new DownstreamUnavailable("the " + name(service) + " service failed", 503, 1);
            } catch (TimeoutException e) {
                throw new DownstreamUnavailable("the " + name(service) + " service did not answer in time", 504, 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DownstreamUnavailable("interrupted", 503, 1);
            }
        }
        try {
            Forwarded answer = send(service, method, pathAndQuery, headers, body);
            mine.complete(answer);
            return answer;
        } catch (DownstreamUnavailable | RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            inflight.remove(coalesceKey, mine);
        }
    }

    private Forwarded send(Route.Service service, String method, String pathAndQuery, Map<String, String> headers, byte[] body)
        throws DownstreamUnavailable {
        Target target = targets.get(service);
        if (!target.bulkhead().tryAcquirePermission()) {
            meters.counter("tally.gateway.downstream.refused", "service", name(service), "reason", "bulkhead").increment();
            throw new DownstreamUnavailable("the " + name(service) + " service has too many requests in flight", 503, 1);
        }
        try {
            return target.breaker().executeCallable(() -> exchange(target, method, pathAndQuery, headers, body));
        } catch (CallNotPermittedException e) {
            meters.counter("tally.gateway.downstream.refused", "service", name(service), "reason", "breaker").increment();
            throw new DownstreamUnavailable("the " + name(service) + " service is failing; calls are paused", 503,
                (int) Math.max(1, openFor.toSeconds()));
        } catch (HttpTimeoutException e) {
            throw new DownstreamUnavailable("the " + name(service) + " service did not answer within " + timeout.toMillis() + " ms", 504, 1);
        } catch (IOException e) {
            throw new DownstreamUnavailable("the " + name(service) + " service is unreachable", 503, 2);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DownstreamUnavailable("interrupted", 503, 1);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            target.bulkhead().onComplete();
        }
    }

    private Forwarded exchange(Target target, String method, String pathAndQuery, Map<String, String> headers, byte[] body)
        throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(target.base() + pathAndQuery)).timeout(timeout)
            .method(method, body == null || body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach(request::header);
        // The hop is a client span of the request's trace; the service continues it from traceparent.
        Span span = tracer.spanBuilder(method + " " + target.name()).setSpanKind(SpanKind.CLIENT)
            .setAttribute("http.request.method", method).setAttribute("url.full", target.base() + pathAndQuery)
            .setAttribute("peer.service", target.name()).startSpan();
        HttpResponse<byte[]> response;
        try (Scope scope = span.makeCurrent()) {
            propagator.inject(Context.current(), request, HttpRequest.Builder::setHeader);
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            span.setAttribute("http.response.status_code", (long) response.statusCode());
        } catch (IOException | InterruptedException | RuntimeException e) {
            span.setStatus(StatusCode.ERROR, e.toString());
            throw e;
        } finally {
            span.end();
        }
        Map<String, List<String>> relayed = new LinkedHashMap<>();
        response.headers().map().forEach((name, values) -> {
            if (RELAYED.contains(name.toLowerCase(Locale.ROOT))) {
                relayed.put(name, values);
            }
        });
        return new Forwarded(response.statusCode(), relayed, response.body(), response.headers().allValues(Forwarded.VALUES_READ));
    }

    /** The breaker of one downstream (state shown in tests and metrics). */
    public CircuitBreaker breaker(Route.Service service) {
        return targets.get(service).breaker();
    }

    private static String name(Route.Service service) {
        return service.name().toLowerCase(Locale.ROOT);
    }
}
