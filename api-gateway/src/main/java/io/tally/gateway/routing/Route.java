package io.tally.gateway.routing;

import io.tally.gateway.ratelimit.Limits;

import java.util.Set;

/**
 * Where a public request goes and who may send it.
 *
 * @param service the downstream that answers it
 * @param roles   a caller needs any one of these
 * @param bucket  the token bucket it draws from
 */
public record Route(Service service, Set<String> roles, Limits.Kind bucket) {

    /** The services behind the gateway, and the gateway itself for what only it knows (the tenant's rate limits). */
    public enum Service { INGESTION, RULES, QUERY, SUBSCRIPTION, GATEWAY }

    static final Set<String> PRODUCER = Set.of("producer");
    static final Set<String> ADMIN = Set.of("admin");
    static final Set<String> READERS = Set.of("viewer", "admin");

    /** The outcome of matching a method and path. */
    public sealed interface Match permits Found, NotFound, MethodNotAllowed {
    }

    public record Found(Route route) implements Match {
    }

    public record NotFound() implements Match {
    }

    public record MethodNotAllowed(Set<String> allowed) implements Match {
    }

    /** The public routes of API.md. */
    public static Match match(String method, String path) {
        String[] parts = path.split("/", -1);
        // parts[0] is empty (leading slash); expect api, v1, resource, ...
        if (parts.length < 4 || !parts[1].equals("api") || !parts[2].equals("v1") || parts[parts.length - 1].isEmpty() && parts.length > 4) {
            return new NotFound();
        }
        String resource = parts[3];
        int depth = parts.length - 4; // segments after the resource
        return switch (resource) {
            case "events" -> depth == 0 ? only(method, Set.of("POST"), new Route(Service.INGESTION, PRODUCER, Limits.Kind.INGEST)) : new NotFound();
            case "subscriptions" -> depth == 0 ? only(method, Set.of("GET"), new Route(Service.SUBSCRIPTION, READERS, Limits.Kind.QUERY)) : new NotFound();
            case "dashboards" -> crud(method, depth);
            case "limits" -> depth == 0 ? only(method, Set.of("GET"), new Route(Service.GATEWAY, READERS, Limits.Kind.QUERY)) : new NotFound();
            case "usage" -> depth == 0 ? only(method, Set.of("GET"), new Route(Service.RULES, READERS, Limits.Kind.QUERY)) : new NotFound();
            case "admin" -> depth == 1 && parts[4].equals("replay") ? only(method, Set.of("POST"), new Route(Service.RULES, ADMIN, Limits.Kind.QUERY))
                : new NotFound();
            case "rules" -> {
                if (depth == 2 && (parts[5].equals("results") || parts[5].equals("top"))) {
                    yield only(method, Set.of("GET"), new Route(Service.QUERY, READERS, Limits.Kind.QUERY));
                }
                yield crud(method, depth);
            }
            default -> new NotFound();
        };
    }

    private static Match crud(String method, int depth) {
        if (depth == 0) {
            return switch (method) {
                case "GET" -> new Found(new Route(Service.RULES, READERS, Limits.Kind.QUERY));
                case "POST" -> new Found(new Route(Service.RULES, ADMIN, Limits.Kind.QUERY));
                default -> new MethodNotAllowed(Set.of("GET", "POST"));
            };
        }
        if (depth == 1) {
            return switch (method) {
                case "GET" -> new Found(new Route(Service.RULES, READERS, Limits.Kind.QUERY));
                case "PUT", "DELETE" -> new Found(new Route(Service.RULES, ADMIN, Limits.Kind.QUERY));
                default -> new MethodNotAllowed(Set.of("GET", "PUT", "DELETE"));
            };
        }
        return new NotFound();
    }

    private static Match only(String method, Set<String> allowed, Route route) {
        return allowed.contains(method) ? new Found(route) : new MethodNotAllowed(allowed);
    }
}
