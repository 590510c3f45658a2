package io.tally.gateway.api;

import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.core.type.Argument;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.netty.websocket.NettyWebSocketSession;
import io.micronaut.serde.ObjectMapper;
import io.micronaut.websocket.CloseReason;
import io.micronaut.websocket.WebSocketSession;
import io.micronaut.websocket.annotation.OnClose;
import io.micronaut.websocket.annotation.OnError;
import io.micronaut.websocket.annotation.OnMessage;
import io.micronaut.websocket.annotation.OnOpen;
import io.micronaut.websocket.annotation.ServerWebSocket;
import io.tally.gateway.auth.Caller;
import io.tally.gateway.ratelimit.Decision;
import io.tally.gateway.ratelimit.Limits;
import io.tally.gateway.ratelimit.TenantRateLimiter;
import io.tally.gateway.routing.Downstreams;
import io.tally.gateway.routing.Route;
import io.tally.gateway.routing.TenantCosts;
import io.tally.internal.InternalKey;
import io.tally.internal.InternalToken;
import io.tally.model.TallyHeaders;
import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code /api/v1/subscriptions}: the client's socket (authenticated at the upgrade by
 * {@link SubscriptionUpgradeFilter}) joined to one socket to the subscription service, which gets
 * the tenant from the token. Frames pass both ways; the subscription service's frames are read
 * only as fast as the client takes them, so a slow client slows its upstream socket and the
 * subscription service coalesces for it. Each subscribe message costs one query token; a refused
 * one is answered with an error message and not forwarded. Either side closing closes the other.
 */
@ServerWebSocket("/api/v1/subscriptions")
public class SubscriptionProxy {

    private static final Logger LOG = LoggerFactory.getLogger(SubscriptionProxy.class);
    private static final String UPSTREAM = "tally.upstream";

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI target;
    private final TenantRateLimiter limiter;
    private final ObjectMapper json;
    private final MeterRegistry meters;
    private final Set<WebSocketSession> open = ConcurrentHashMap.newKeySet();
    /** Open sockets per tenant on this gateway (the upgrade filter refuses past the tenant's limit). */
    private final Map<String, AtomicInteger> perTenant = new ConcurrentHashMap<>();
    private final ScheduledExecutorService pinger = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("gateway-ws-pings").daemon().unstarted(r));

    private final InternalKey internalKey;
    private final TenantCosts costs;

    public SubscriptionProxy(Downstreams downstreams, TenantRateLimiter limiter, ObjectMapper json, MeterRegistry meters,
                             InternalKey internalKey, TenantCosts costs) {
        this.internalKey = internalKey;
        this.costs = costs;
        URI base = downstreams.base(Route.Service.SUBSCRIPTION);
        this.target = URI.create(base.toString().replaceFirst("^http", "ws") + "/api/v1/subscriptions");
        this.limiter = limiter;
        this.json = json;
        this.meters = meters;
        meters.gauge("tally.gateway.subscription.sockets", open, Set::size);
        // Keeps idle sockets (and the proxies between the client and us) from timing out.
        pinger.scheduleAtFixedRate(() -> open.forEach(s -> {
            if (s.isOpen() && s instanceof NettyWebSocketSession netty) {
                netty.sendPingAsync(new byte[] {'g'});
            }
        }), 30, 30, TimeUnit.SECONDS);
    }

    /** How many sockets the tenant has open on this gateway. */
    int openSockets(String tenant) {
        var n = perTenant.get(tenant);
        return n == null ? 0 : n.get();
    }

    @OnOpen
    public void onOpen(WebSocketSession session, HttpRequest<?> request) {
        Caller caller = request.getAttribute(SubscriptionUpgradeFilter.CALLER, Caller.class).orElse(null);
        if (caller == null) {
            session.close(new CloseReason(1008, "not authenticated"));
            return;
        }
        Upstream upstream = new Upstream(session, caller);
        session.put(UPSTREAM, upstream);
        open.add(session);
        perTenant.computeIfAbsent(caller.tenant(), t -> new AtomicInteger()).incrementAndGet();
        client.newWebSocketBuilder()
            .header(TallyHeaders.TENANT, caller.tenant())
            .header(TallyHeaders.ROLES, String.join(",", new TreeSet<>(caller.roles())))
            .header(TallyHeaders.REQUEST_ID, RequestIds.of(request))
            .header(InternalToken.HEADER, internalKey.sign(caller.tenant(), List.copyOf(new TreeSet<>(caller.roles())), "GET",
                target.getRawPath()))
            .connectTimeout(Duration.ofSeconds(5))
            .buildAsync(target, upstream)
            .whenComplete((ws, error) -> {
                if (error != null) {
                    LOG.warn("The subscription service at {} is unavailable: {}", target, error.toString());
                    meters.counter("tally.gateway.subscription.upstream.failed").increment();
                    session.close(new CloseReason(1013, "the subscription service is unavailable; reconnect in a few seconds"));
                    upstream.connected.completeExceptionally(error);
                } else {
                    upstream.connected.complete(ws);
                }
            });
    }

    @OnMessage
    public void onMessage(String text, WebSocketSession session) {
        Upstream upstream = session.get(UPSTREAM, Upstream.class).orElse(null);
        if (upstream == null) {
            return;
        }
        Map<String, Object> subscribe = subscribe(text);
        if (subscribe == null) {
            upstream.forward(text);
            return;
        }
        String subscribeId = subscribe.get("id") instanceof String id ? id : "";
        String tenant = upstream.caller.tenant();
        // A dashboard subscription reads each of its queries: it costs one query token per query. Frames keep their
        // order: the ones after it wait until it is charged.
        CompletableFuture<Long> cost = subscribe.get("dashboardId") instanceof String dashboard && subscribe.get("ruleId") == null
            ? costs.dashboardQueries(tenant, dashboard) : CompletableFuture.completedFuture(1L);
        upstream.forward(cost.thenApply(tokens -> {
            Decision decision = limiter.take(tenant, Limits.Kind.QUERY, tokens);
            if (!decision.allowed()) {
                meters.counter("tally.gateway.subscription.refused", "reason", "subscribe").increment();
                session.sendAsync(refusal(subscribeId, decision, tokens), MediaType.TEXT_PLAIN_TYPE);
            }
            return decision.allowed();
        }), text);
    }

    @OnClose
    public void onClose(WebSocketSession session, CloseReason reason) {
        if (open.remove(session)) {
            Upstream closing = session.get(UPSTREAM, Upstream.class).orElse(null);
            if (closing != null) {
                perTenant.computeIfPresent(closing.caller.tenant(), (t, n) -> n.decrementAndGet() <= 0 ? null : n);
            }
        }
        session.get(UPSTREAM, Upstream.class).ifPresent(u -> u.clientClosed(reason));
    }

    @OnError
    public void onError(WebSocketSession session, Throwable error) {
        LOG.debug("Client socket {} failed: {}", session.getId(), error.toString());
    }

    /**
     * A subscribe (or tail) message, or null for anything else. Every frame is parsed: a keyword written with JSON escapes
     * ({@code "\u0073ubscribe"}) is the same keyword to the service.
     */
    private Map<String, Object> subscribe(String text) {
        try {
            Map<String, Object> message = json.readValue(text, Argument.mapOf(String.class, Object.class));
            // A tail costs one query token too: it is a subscription to the tenant's events.
            if (message != null && ("subscribe".equals(message.get("op")) || "tail".equals(message.get("op")))) {
                return message;
            }
        } catch (Exception e) {
            // not JSON: the subscription service answers it
        }
        return null;
    }

    private String refusal(String id, Decision decision, long tokens) {
        String detail = (decision.source().equals("unavailable")
            ? "Rate limits cannot be checked right now"
            : "The tenant's query limit has no room for this subscription (" + tokens + (tokens == 1 ? " token" : " tokens: one per query it reads")
                + "; " + decision.remaining() + " left of " + decision.limit() + ")")
            + "; it was not forwarded. Subscribe again after " + decision.retryAfterSeconds() + " s.";
        int status = decision.source().equals("unavailable") ? 503 : 429;
        String title = status == 429 ? "Too Many Requests" : "Service Unavailable";
        try {
            return "{\"type\":\"error\"" + (id.isEmpty() ? "" : ",\"id\":" + json.writeValueAsString(id)) + ",\"status\":" + status
                + ",\"title\":\"" + title + "\",\"detail\":" + json.writeValueAsString(detail) + ",\"retryAfter\":" + decision.retryAfterSeconds() + "}";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @PreDestroy
    void close() {
        pinger.shutdownNow();
    }

    /** The socket to the subscription service for one client socket. */
    private static final class Upstream implements WebSocket.Listener {
        final WebSocketSession client;
        final Caller caller;
        final CompletableFuture<WebSocket> connected = new CompletableFuture<>();
        private CompletableFuture<?> sends = connected;
        private final StringBuilder partial = new StringBuilder();

        Upstream(WebSocketSession client, Caller caller) {
            this.client = client;
            this.caller = caller;
        }

        /** Client → service, one frame at a time (the JDK socket takes one send at once). */
        synchronized void forward(String text) {
            forward(CompletableFuture.completedFuture(true), text);
        }

        /** As above, once {@code allowed} says the frame may go (false: it is dropped, the client was answered). */
        synchronized void forward(CompletionStage<Boolean> allowed, String text) {
            sends = sends.thenCompose(v -> allowed)
                .thenCompose(ok -> ok ? connected.join().sendText(text, true) : CompletableFuture.completedFuture(null));
            sends.exceptionally(e -> {
                client.close(new CloseReason(1011, "the subscription service connection failed; reconnect and resume"));
                return null;
            });
        }

        synchronized void clientClosed(CloseReason reason) {
            sends.whenComplete((v, e) -> connected.thenAccept(ws -> {
                if (!ws.isOutputClosed()) {
                    ws.sendClose(WebSocket.NORMAL_CLOSURE, "the client went away");
                }
                ws.abort();
            }));
        }

        @Override
        public void onOpen(WebSocket ws) {
            ws.request(1);
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (!last) {
                ws.request(1);
                return null;
            }
            String text = partial.toString();
            partial.setLength(0);
            // Take the next frame only when the client has taken this one: backpressure to the service.
            return client.sendAsync(text, MediaType.TEXT_PLAIN_TYPE).whenComplete((r, e) -> {
                if (e == null) {
                    ws.request(1);
                }
            });
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
            // 1005/1006/1015 describe a close without a close frame; they may not be sent, so say 1011 instead.
            boolean sendable = code == 1000 || code == 1001 || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
            client.close(sendable ? new CloseReason(code, reason)
                : new CloseReason(1011, "the subscription service went away; reconnect and resume"));
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            client.close(new CloseReason(1011, "the subscription service connection was lost; reconnect and resume"));
        }
    }
}
