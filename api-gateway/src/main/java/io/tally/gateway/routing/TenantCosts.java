package io.tally.gateway.routing;

import io.micronaut.serde.ObjectMapper;
import io.tally.internal.InternalKey;
import io.tally.internal.InternalToken;
import io.tally.model.TallyHeaders;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * What one event of a tenant costs the aggregation engine: the state cells it can update over the tenant's rules
 * ({@code cellsPerEvent} of the rules service's {@code GET /api/v1/usage}), charged to the tenant's fold bucket.
 * Never waits on the request path: a tenant's cost is fetched in the background when first asked for and again when
 * older than {@link #FRESH_NANOS}; until the first answer (and while the rules service is away, once it was never
 * known) it is 0, so only the events bucket limits the tenant. A rule change reaches the charge within seconds.
 * Also what a dashboard subscription costs: one query token per query the dashboard reads.
 */
@Singleton
public class TenantCosts {

    private static final Logger LOG = LoggerFactory.getLogger(TenantCosts.class);
    static final long FRESH_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final String PATH = "/api/v1/usage";

    @io.micronaut.serde.annotation.Serdeable
    record Usage(long cellsPerEvent) {
    }

    private record Known(long cellsPerEvent, long fetchedAtNanos) {
    }

    private final Downstreams downstreams;
    private final InternalKey internalKey;
    private final ObjectMapper json;
    private final Map<String, Known> known = new ConcurrentHashMap<>();
    /** tenant NUL dashboard id → its number of queries (in the cost field). */
    private final Map<String, Known> dashboards = new ConcurrentHashMap<>();
    private final Set<String> fetching = ConcurrentHashMap.newKeySet();
    private volatile long lastFailureLog;

    public TenantCosts(Downstreams downstreams, InternalKey internalKey, ObjectMapper json) {
        this.downstreams = downstreams;
        this.internalKey = internalKey;
        this.json = json;
    }

    /** The state cells one event of the tenant updates over its rules; 0 while not known yet. */
    public long cellsPerEvent(String tenant) {
        Known k = known.get(tenant);
        if (k == null || System.nanoTime() - k.fetchedAtNanos() > FRESH_NANOS) {
            refresh(tenant);
        }
        return k == null ? 0 : k.cellsPerEvent();
    }

    private void refresh(String tenant) {
        if (!fetching.add(tenant)) {
            return;
        }
        Thread.ofVirtual().name("tenant-cost").start(() -> {
            try {
                known.put(tenant, new Known(fetch(tenant), System.nanoTime()));
            } catch (DownstreamUnavailable | IOException | RuntimeException e) {
                long now = System.currentTimeMillis();
                if (now - lastFailureLog > 10_000) {
                    lastFailureLog = now;
                    LOG.warn("the rules service could not say what tenant {}'s events cost ({}); its fold limit charges the last known cost"
                        + " (or nothing) until it answers", tenant, e.toString());
                }
            } finally {
                fetching.remove(tenant);
            }
        });
    }

    @io.micronaut.serde.annotation.Serdeable
    record Dashboard(@io.micronaut.core.annotation.Nullable List<Object> queries) {
    }

    /**
     * How many queries a dashboard subscription reads: the query tokens it costs (one for a dashboard that does not
     * exist, or while the rules service cannot say: the subscription service answers that subscribe itself). Fetched
     * off the caller's thread, kept for {@link #FRESH_NANOS}.
     */
    public CompletableFuture<Long> dashboardQueries(String tenant, String dashboardId) {
        String key = tenant + "\u0000" + dashboardId;
        Known k = dashboards.get(key);
        if (k != null && System.nanoTime() - k.fetchedAtNanos() <= FRESH_NANOS) {
            return CompletableFuture.completedFuture(k.cellsPerEvent());
        }
        CompletableFuture<Long> answer = new CompletableFuture<>();
        Thread.ofVirtual().name("dashboard-cost").start(() -> {
            long queries = 1;
            try {
                String path = "/api/v1/dashboards/" + URLEncoder.encode(dashboardId, StandardCharsets.UTF_8).replace("+", "%20");
                Forwarded found = get(tenant, path);
                if (found.status() == 200 && found.body() != null) {
                    List<Object> list = json.readValue(found.body(), Dashboard.class).queries();
                    queries = Math.max(1, list == null ? 0 : list.size());
                    if (dashboards.size() > MAX_DASHBOARDS) {
                        dashboards.clear();
                    }
                    dashboards.put(key, new Known(queries, System.nanoTime()));
                }
            } catch (DownstreamUnavailable | IOException | RuntimeException e) {
                LOG.debug("the rules service could not say how many queries dashboard {} of tenant {} reads: {}", dashboardId, tenant, e.toString());
            }
            answer.complete(queries);
        });
        return answer;
    }

    /** Dashboards whose query counts are kept at most (a tenant subscribing to made-up ids cannot grow the map). */
    private static final int MAX_DASHBOARDS = 10_000;

    private Forwarded get(String tenant, String path) throws DownstreamUnavailable {
        List<String> roles = List.of("viewer");
        Map<String, String> headers = Map.of(
            "Accept", "application/json",
            TallyHeaders.TENANT, tenant,
            TallyHeaders.ROLES, String.join(",", roles),
            TallyHeaders.REQUEST_ID, "cost-" + UUID.randomUUID(),
            InternalToken.HEADER, internalKey.sign(tenant, roles, "GET", path));
        return downstreams.call(Route.Service.RULES, "GET", path, headers, null, null);
    }

    private long fetch(String tenant) throws DownstreamUnavailable, IOException {
        Forwarded answer = get(tenant, PATH);
        if (answer.status() != 200 || answer.body() == null) {
            throw new IOException("GET " + PATH + " answered " + answer.status());
        }
        return Math.max(0, json.readValue(answer.body(), Usage.class).cellsPerEvent());
    }
}
