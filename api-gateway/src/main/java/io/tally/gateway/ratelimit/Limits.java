package io.tally.gateway.ratelimit;

import io.tally.model.TenantOverrides;

import java.util.HashMap;
import java.util.Map;

/**
 * Token bucket sizes per tenant: defaults plus overrides written as
 * {@code tenant=ingest:rate/burst,query:rate/burst,fold:rate/burst;other-tenant=query:rate/burst}.
 */
public final class Limits {

    /**
     * Which bucket a request draws from: events, requests, or (ingest too) the state cells its events update over
     * the tenant's rules.
     */
    public enum Kind { INGEST, QUERY, FOLD }

    /** Tokens per second and bucket capacity. */
    public record Limit(long rate, long burst) {
        public Limit {
            if (rate < 1 || burst < 1) {
                throw new IllegalArgumentException("rate and burst must be at least 1");
            }
        }
    }

    private final Limit ingest;
    private final Limit query;
    private final Limit fold;
    private final Map<String, Map<Kind, Limit>> overrides;

    public Limits(Limit ingest, Limit query, Limit fold, String overrides) {
        this.ingest = ingest;
        this.query = query;
        this.fold = fold;
        this.overrides = parse(overrides);
    }

    public Limit of(String tenant, Kind kind) {
        Map<Kind, Limit> own = overrides.get(tenant);
        Limit limit = own == null ? null : own.get(kind);
        if (limit != null) {
            return limit;
        }
        return switch (kind) {
            case INGEST -> ingest;
            case QUERY -> query;
            case FOLD -> fold;
        };
    }

    static Map<String, Map<Kind, Limit>> parse(String spec) {
        Map<String, Map<Kind, Limit>> result = new HashMap<>();
        TenantOverrides.parse(spec, "tenant limit", "tenant=ingest:100/200,query:10/20").forEach((tenant, given) -> {
            Map<Kind, Limit> limits = new HashMap<>();
            given.forEach((key, value) -> {
                Kind kind = switch (key) {
                    case "ingest" -> Kind.INGEST;
                    case "query" -> Kind.QUERY;
                    case "fold" -> Kind.FOLD;
                    default -> throw new IllegalArgumentException("unknown bucket '" + key + "' for " + tenant + ": use ingest, query or fold");
                };
                String[] rateAndBurst = value.split("/");
                try {
                    limits.put(kind, new Limit(Long.parseLong(rateAndBurst[0].trim()), Long.parseLong(rateAndBurst[1].trim())));
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("tenant limit '" + key + ":" + value + "' for " + tenant + " should look like ingest:100/200");
                }
            });
            result.put(tenant, Map.copyOf(limits));
        });
        return Map.copyOf(result);
    }
}
