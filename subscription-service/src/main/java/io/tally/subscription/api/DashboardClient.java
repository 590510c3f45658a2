package io.tally.subscription.api;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.client.exceptions.HttpClientException;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.tally.internal.InternalKey;
import io.tally.telemetry.Observed;
import jakarta.inject.Singleton;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads a tenant's saved dashboard from the rules service (the owner of dashboards) through {@link RulesServiceApi},
 * signed as the tenant's viewer, behind a circuit breaker ({@code rules-service}): while the rules service fails, a
 * dashboard subscription is refused with 503 at once instead of waiting out a timeout per subscribe.
 */
@Singleton
public class DashboardClient {

    /** One saved query: a rule and its group filter. */
    public record Query(String ruleId, Map<String, String> groups) {
    }

    /** The rules service could not answer. */
    public static final class Unavailable extends Exception {
        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static final List<String> ROLES = List.of("viewer");

    private final RulesServiceApi rules;
    private final InternalKey internalKey;
    private final CircuitBreaker breaker;

    public DashboardClient(RulesServiceApi rules, InternalKey internalKey, MeterRegistry meters) {
        this.rules = rules;
        this.internalKey = internalKey;
        this.breaker = Observed.breaker(meters, "rules-service", CircuitBreakerConfig.custom()
            .slidingWindowSize(20).minimumNumberOfCalls(5).failureRateThreshold(50)
            .waitDurationInOpenState(Duration.ofSeconds(5))
            .recordExceptions(Unavailable.class)
            .build());
    }

    /** The dashboard's queries, or empty when the tenant has no such dashboard. */
    public Optional<List<Query>> queries(String tenant, String dashboardId) throws Unavailable {
        try {
            return breaker.executeCheckedSupplier(() -> fetch(tenant, dashboardId));
        } catch (CallNotPermittedException e) {
            throw new Unavailable("the rules service failed repeatedly; calls wait for its breaker to close", e);
        } catch (Unavailable e) {
            throw e;
        } catch (Throwable e) {
            throw new Unavailable("reading the dashboard failed: " + e, e);
        }
    }

    private Optional<List<Query>> fetch(String tenant, String dashboardId) throws Unavailable {
        String path = "/api/v1/dashboards/" + URLEncoder.encode(dashboardId, StandardCharsets.UTF_8).replace("+", "%20");
        // Reading a dashboard needs no more than a viewer may do; the rules service checks the signature.
        String signature = internalKey.sign(tenant, ROLES, "GET", path);
        HttpResponse<RulesServiceApi.Dashboard> response;
        try {
            response = rules.dashboard(dashboardId, tenant, String.join(",", ROLES), signature);
        } catch (HttpClientResponseException e) {
            if (e.getStatus().getCode() < 500) {
                // 404, or a request the rules service refuses (an id too long for a URL): no such dashboard for this
                // caller. Only the rules service's own failures count against the breaker every tenant shares.
                return Optional.empty();
            }
            throw new Unavailable("the rules service answered " + e.getStatus().getCode(), e);
        } catch (HttpClientException e) {
            throw new Unavailable("the rules service did not answer: " + e.getMessage(), e);
        }
        if (response.status() == HttpStatus.NOT_FOUND) {
            return Optional.empty();
        }
        RulesServiceApi.Dashboard body = response.body();
        if (response.status() != HttpStatus.OK || body == null || body.queries() == null) {
            throw new Unavailable("the rules service answered " + response.code() + (body == null ? " without a dashboard" : ""), null);
        }
        return Optional.of(body.queries().stream().map(q -> {
            Map<String, String> filter = new LinkedHashMap<>();
            if (q.groups() != null) {
                q.groups().forEach((k, v) -> filter.put(k, String.valueOf(v)));
            }
            return new Query(q.ruleId(), filter);
        }).toList());
    }
}
