package io.tally.gateway.ratelimit;

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
        if (spec == null || spec.isBlank()) {
            return result;
        }
        for (String entry : spec.split(";")) {
            if (entry.isBlank()) {
                continue;
            }
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("tenant limit '" + entry.trim() + "' should look like tenant=ingest:100/200,query:10/20");
            }
            String tenant = entry.substring(0, eq).trim();
            Map<Kind, Limit> limits = new HashMap<>();
            for (String part : entry.substring(eq + 1).split(",")) {
                String[] kindAndValues = part.trim().split(":");
                String[] values = kindAndValues.length == 2 ? kindAndValues[1].split("/") : new String[0];
                if (values.length != 2) {
                    throw new IllegalArgumentException("tenant limit '" + part.trim() + "' for " + tenant + " should look like ingest:100/200");
                }
                Kind kind = switch (kindAndValues[0].trim()) {
                    case "ingest" -> Kind.INGEST;
                    case "query" -> Kind.QUERY;
                    case "fold" -> Kind.FOLD;
                    default -> throw new IllegalArgumentException("unknown bucket '" + kindAndValues[0].trim() + "': use ingest, query or fold");
                };
                limits.put(kind, new Limit(Long.parseLong(values[0].trim()), Long.parseLong(values[1].trim())));
            }
            result.put(tenant, Map.copyOf(limits));
        }
        return Map.copyOf(result);
    }
}
