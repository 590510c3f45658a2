package io.tally.gateway.routing;

import io.micronaut.serde.ObjectMapper;
import io.tally.internal.InternalKey;
import io.tally.internal.InternalToken;
import io.tally.model.TallyHeaders;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * What one event of a tenant costs the aggregation engine: the state cells it can update over the tenant's rules
 * ({@code cellsPerEvent} of the rules service's {@code GET /api/v1/usage}), charged to the tenant's fold bucket.
 * Never waits on the request path: a tenant's cost is fetched in the background when first asked for and again when
 * older than {@link #FRESH_NANOS}; until the first answer (and while the rules service is away, once it was never
 * known) it is 0, so only the events bucket limits the tenant. A rule change reaches the charge within seconds.
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

    private long fetch(String tenant) throws DownstreamUnavailable, IOException {
        List<String> roles = List.of("viewer");
        Map<String, String> headers = Map.of(
            "Accept", "application/json",
            TallyHeaders.TENANT, tenant,
            TallyHeaders.ROLES, String.join(",", roles),
            TallyHeaders.REQUEST_ID, "cost-" + UUID.randomUUID(),
            InternalToken.HEADER, internalKey.sign(tenant, roles, "GET", PATH));
        Forwarded answer = downstreams.call(Route.Service.RULES, "GET", PATH, headers, null, null);
        if (answer.status() != 200 || answer.body() == null) {
            throw new IOException("GET " + PATH + " answered " + answer.status());
        }
        return Math.max(0, json.readValue(answer.body(), Usage.class).cellsPerEvent());
    }
}
