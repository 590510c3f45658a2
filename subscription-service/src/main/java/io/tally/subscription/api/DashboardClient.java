package io.tally.subscription.api;

import io.micronaut.core.type.Argument;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.TallyHeaders;
import io.tally.subscription.config.SubscriptionConfig;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Reads a tenant's saved dashboard from the rules service (the owner of dashboards). */
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

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final String rulesUrl;
    private final ObjectMapper json;

    private final io.tally.internal.InternalKey internalKey;

    public DashboardClient(SubscriptionConfig config, ObjectMapper json, io.tally.internal.InternalKey internalKey) {
        this.rulesUrl = config.rulesUrl().replaceAll("/+$", "");
        this.json = json;
        this.internalKey = internalKey;
    }

    /** The dashboard's queries, or empty when the tenant has no such dashboard. */
    @SuppressWarnings("unchecked")
    public Optional<List<Query>> queries(String tenant, String dashboardId) throws Unavailable {
        String path = "/api/v1/dashboards/" + URLEncoder.encode(dashboardId, StandardCharsets.UTF_8).replace("+", "%20");
        // Reading a dashboard needs no more than a viewer may do; the rules service checks the signature.
        HttpRequest request = HttpRequest.newBuilder(URI.create(rulesUrl + path))
            .header(TallyHeaders.TENANT, tenant).header(TallyHeaders.ROLES, "viewer")
            .header(io.tally.internal.InternalToken.HEADER, internalKey.sign(tenant, java.util.List.of("viewer"), "GET", path))
            .timeout(Duration.ofSeconds(5)).GET().build();
        HttpResponse<byte[]> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new Unavailable("the rules service at " + rulesUrl + " did not answer", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("interrupted", e);
        }
        if (response.statusCode() == 404) {
            return Optional.empty();
        }
        if (response.statusCode() != 200) {
            throw new Unavailable("the rules service answered " + response.statusCode(), null);
        }
        try {
            Map<String, Object> body = json.readValue(response.body(), Argument.mapOf(String.class, Object.class));
            List<Map<String, Object>> queries = (List<Map<String, Object>>) body.get("queries");
            return Optional.of(queries.stream().map(q -> {
                Map<String, Object> groups = q.get("groups") instanceof Map<?, ?> g ? (Map<String, Object>) g : Map.of();
                Map<String, String> filter = new java.util.LinkedHashMap<>();
                groups.forEach((k, v) -> filter.put(k, String.valueOf(v)));
                return new Query((String) q.get("ruleId"), filter);
            }).toList());
        } catch (IOException | RuntimeException e) {
            throw new Unavailable("the rules service sent an unreadable dashboard", e);
        }
    }
}
