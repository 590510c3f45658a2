package io.tally.gateway.api;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micrometer.core.instrument.MeterRegistry;
import io.tally.gateway.auth.BearerAuthenticator;
import io.tally.gateway.auth.Caller;
import io.tally.gateway.auth.TokenRejected;
import io.tally.gateway.routing.Route;

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

    public SubscriptionUpgradeFilter(BearerAuthenticator authenticator, MeterRegistry meters) {
        this.authenticator = authenticator;
        this.meters = meters;
    }

    @RequestFilter
    @Nullable
    public HttpResponse<?> authenticate(HttpRequest<?> request) {
        String upgrade = request.getHeaders().get("Upgrade");
        if (upgrade == null || !upgrade.equalsIgnoreCase("websocket")) {
            return null; // a plain GET: the controller answers it
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
        request.setAttribute(CALLER, caller);
        return null;
    }
}
