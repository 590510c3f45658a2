package io.tally.gateway.routing;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.CacheLoader;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.ObjectMapper;
import io.micronaut.serde.annotation.Serdeable;
import io.tally.internal.InternalKey;
import io.tally.internal.InternalToken;
import io.tally.model.TallyHeaders;
import io.tally.model.TimeSource;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

/**
 * What one event of a tenant costs the aggregation engine: the state cells it can update over the tenant's rules
 * ({@code cellsPerEvent} of the rules service's {@code GET /api/v1/usage}), charged to the tenant's fold bucket.
 * Never waits on the request path: a tenant's cost is fetched in the background when first asked for and again when
 * older than {@link #FRESH}; until the first answer (and while the rules service is away, once it was never
 * known) it is 0, so only the events bucket limits the tenant. A rule change reaches the charge within seconds.
 * Also what a dashboard subscription costs: one query token per query the dashboard reads.
 */
@Singleton
public class TenantCosts {

    private static final Logger LOG = LoggerFactory.getLogger(TenantCosts.class);
    static final Duration FRESH = Duration.ofSeconds(5);
    private static final String PATH = "/api/v1/usage";
    /** Tenants and dashboards whose costs are kept at most (a tenant subscribing to made-up ids cannot grow them). */
    private static final int MAX_ENTRIES = 10_000;

    @Serdeable
    record Usage(long cellsPerEvent) {
    }

    @Serdeable
    record Dashboard(@Nullable List<Object> queries) {
    }

    private final Downstreams downstreams;
    private final InternalKey internalKey;
    private final ObjectMapper json;
    private final TimeSource time;
    /** tenant → state cells per event; refreshed in the background once older than {@link #FRESH}, kept when a refresh fails. */
    private final AsyncLoadingCache<String, Long> cells;
    /** tenant NUL dashboard id → how many queries it reads; only answers of the rules service are kept. */
    private final AsyncLoadingCache<String, Long> dashboards;
    private volatile long lastFailureLog;

    public TenantCosts(Downstreams downstreams, InternalKey internalKey, ObjectMapper json, TimeSource time) {
        this.downstreams = downstreams;
        this.internalKey = internalKey;
        this.json = json;
        this.time = time;
        // Loads call the rules service (blocking, with its own timeouts): on virtual threads, never on the caller's.
        Executor loads = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("tenant-cost-", 0).factory());
        // A failed fetch answers null: nothing is kept (and Caffeine logs nothing); a failed refresh keeps the last answer.
        this.cells = Caffeine.newBuilder().maximumSize(MAX_ENTRIES).refreshAfterWrite(FRESH).ticker(time::nanos).executor(loads)
            .buildAsync(new CacheLoader<String, Long>() {
                @Override
                public Long load(String tenant) {
                    return fetchCells(tenant);
                }

                @Override
                public Long reload(String tenant, Long known) {
                    Long fresh = fetchCells(tenant);
                    return fresh == null ? known : fresh;
                }
            });
        this.dashboards = Caffeine.newBuilder().maximumSize(MAX_ENTRIES).expireAfterWrite(FRESH).ticker(time::nanos).executor(loads)
            .buildAsync(this::fetchQueries);
    }

    /** The state cells one event of the tenant updates over its rules; 0 while not known yet. */
    public long cellsPerEvent(String tenant) {
        CompletableFuture<Long> known = cells.get(tenant);
        Long cost = known.isDone() && !known.isCompletedExceptionally() ? known.join() : null;
        return cost == null ? 0 : cost;
    }

    /**
     * How many queries a dashboard subscription reads: the query tokens it costs (one for a dashboard that does not
     * exist, or while the rules service cannot say: the subscription service answers that subscribe itself). Fetched
     * off the caller's thread, kept for {@link #FRESH}.
     */
    public CompletableFuture<Long> dashboardQueries(String tenant, String dashboardId) {
        return dashboards.get(tenant + "\u0000" + dashboardId).thenApply(queries -> queries == null ? 1L : queries);
    }

    /** The tenant's cost per event, or null when the rules service cannot say (logged at most every 10 s). */
    private Long fetchCells(String tenant) {
        try {
            Forwarded answer = get(tenant, PATH);
            if (answer.status() != 200 || answer.body() == null) {
                throw new IOException("GET " + PATH + " answered " + answer.status());
            }
            return Math.max(0, json.readValue(answer.body(), Usage.class).cellsPerEvent());
        } catch (DownstreamUnavailable | IOException | RuntimeException e) {
            long now = time.millis();
            if (now - lastFailureLog > 10_000) {
                lastFailureLog = now;
                LOG.warn("the rules service could not say what tenant {}'s events cost ({}); its fold limit charges the last known cost"
                    + " (or nothing) until it answers", tenant, e.toString());
            }
            return null;
        }
    }

    /** How many queries the dashboard reads, or null when the rules service cannot say (or it does not exist). */
    private Long fetchQueries(String key) {
        int cut = key.indexOf('\u0000');
        String tenant = key.substring(0, cut);
        String dashboardId = key.substring(cut + 1);
        String path = "/api/v1/dashboards/" + URLEncoder.encode(dashboardId, StandardCharsets.UTF_8).replace("+", "%20");
        try {
            Forwarded found = get(tenant, path);
            if (found.status() != 200 || found.body() == null) {
                return null;
            }
            List<Object> list = json.readValue(found.body(), Dashboard.class).queries();
            return (long) Math.max(1, list == null ? 0 : list.size());
        } catch (DownstreamUnavailable | IOException | RuntimeException e) {
            LOG.debug("the rules service could not say how many queries dashboard {} of tenant {} reads: {}", dashboardId, tenant, e.toString());
            return null;
        }
    }

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
}
