package io.tally.gateway.api;

import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.tally.gateway.auth.BearerAuthenticator;
import io.tally.gateway.auth.Caller;
import io.tally.gateway.auth.TokenRejected;
import io.tally.gateway.ratelimit.Limits;
import io.tally.gateway.ratelimit.TenantRateLimiter;
import io.tally.gateway.routing.Route;
import jakarta.inject.Provider;

import java.util.TreeSet;

/**
 * Authenticates a subscription socket at the upgrade, before any WebSocket exists: no token or a bad
 * one → 401, a token without viewer or admin → 403, both as problem bodies. The verified caller
 * travels to {@link SubscriptionProxy} as a request attribute.
 */
@ServerFilter("/api/v1/subscriptions")
public class SubscriptionUpgradeFilter {

    static final String CALLER = "tally.caller";

    private final BearerAuthenticator authenticator;
    private final MeterRegistry meters;
    private final Provider<SubscriptionProxy> sockets;
    private final TenantRateLimiter limiter;
    private final int socketsPerTenant;

    public SubscriptionUpgradeFilter(BearerAuthenticator authenticator, MeterRegistry meters, Provider<SubscriptionProxy> sockets,
                                     TenantRateLimiter limiter,
                                     @Value("${tally.gateway.sockets-per-tenant:1000}") int socketsPerTenant) {
        this.authenticator = authenticator;
        this.meters = meters;
        this.sockets = sockets;
        this.limiter = limiter;
        this.socketsPerTenant = socketsPerTenant;
    }

    @RequestFilter
    @Nullable
    public HttpResponse<?> authenticate(HttpRequest<?> request) {
        String upgrade = request.getHeaders().get("Upgrade");
        boolean plain = upgrade == null || !upgrade.equalsIgnoreCase("websocket");
        if (plain && !"GET".equals(request.getMethodName())) {
            return null; // the controller answers 405
        }
        Caller caller;
        try {
            caller = authenticator.authenticate(request, true);
        } catch (TokenRejected e) {
            meters.counter("tally.gateway.auth.rejected").increment();
            return GatewayController.problem(request, HttpStatus.UNAUTHORIZED, "Unauthorized", e.getMessage() + ".", null)
                .header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        }
        Route route = ((Route.Found) Route.match("GET", "/api/v1/subscriptions")).route();
        if (!caller.hasAnyRole(route.roles())) {
            return GatewayController.problem(request, HttpStatus.FORBIDDEN, "Forbidden", "Subscriptions need the role "
                + String.join(" or ", new TreeSet<>(route.roles())) + "; the token has "
                + (caller.roles().isEmpty() ? "none" : String.join(", ", new TreeSet<>(caller.roles()))) + ".", null);
        }
        if (plain) {
            // A plain GET (no upgrade) reaches the socket route otherwise, which cannot read it: say what to do instead.
            var decision = limiter.take(caller.tenant(), Limits.Kind.QUERY, 1);
            var response = GatewayController.problem(request, HttpStatus.UPGRADE_REQUIRED, "Upgrade required",
                    "Subscriptions are a WebSocket: connect with a WebSocket client (ws://…/api/v1/subscriptions) and send "
                        + "{\"op\":\"subscribe\",\"id\":\"…\",\"ruleId\":\"…\"}.", null)
                .header("Upgrade", "websocket").header("Connection", "Upgrade");
            GatewayController.rateLimitHeaders(response, decision);
            return response;
        }
        int open = sockets.get().openSockets(caller.tenant());
        if (open >= socketsPerTenant) {
            meters.counter("tally.gateway.subscription.refused", "reason", "sockets").increment();
            return GatewayController.problem(request, HttpStatus.TOO_MANY_REQUESTS, "Too many requests", "The tenant has " + open
                + " subscription sockets open on this gateway, its limit (TALLY_SOCKETS_PER_TENANT); close one, or subscribe to more on one"
                + " socket (up to 1,000 subscriptions each).", null).header("Retry-After", "1");
        }
        // An upgrade costs what a query does: opening sockets in a loop is limited like reading in a loop.
        var decision = limiter.take(caller.tenant(), Limits.Kind.QUERY, 1);
        if (!decision.allowed() && "unavailable".equals(decision.source())) {
            return GatewayController.problem(request, HttpStatus.SERVICE_UNAVAILABLE, "Service unavailable",
                "Rate limits cannot be checked right now; retry after Retry-After seconds.", null)
                .header("Retry-After", Long.toString(Math.max(1, decision.retryAfterSeconds())));
        }
        if (!decision.allowed()) {
            meters.counter("tally.gateway.subscription.refused", "reason", "rate").increment();
            return GatewayController.problem(request, HttpStatus.TOO_MANY_REQUESTS, "Too many requests",
                "The tenant's query limit has no room for opening a socket; retry after Retry-After seconds.", null)
                .header("Retry-After", Long.toString(Math.max(1, decision.retryAfterSeconds())));
        }
        request.setAttribute(CALLER, caller);
        return null;
    }
}
