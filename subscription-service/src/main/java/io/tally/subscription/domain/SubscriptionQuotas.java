package io.tally.subscription.domain;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** How many subscriptions a socket and a tenant hold on this instance, against their limits. */
public final class SubscriptionQuotas {

    private final int perConnection;
    private final int perTenant;
    private final Map<String, AtomicInteger> byTenant = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();

    public SubscriptionQuotas(int perConnection, int perTenant) {
        this.perConnection = perConnection;
        this.perTenant = perTenant;
    }

    /**
     * Why one more subscription of {@code tenant}, on a socket holding {@code onSocket} already, is refused (the
     * detail of a 429), or null when it is within the limits. Count it with {@link #added} once it exists.
     */
    public String refusal(String tenant, int onSocket) {
        if (onSocket >= perConnection) {
            return "A socket may hold " + perConnection + " subscriptions; unsubscribe some or open another socket.";
        }
        if (of(tenant) >= perTenant) {
            return "The tenant holds " + perTenant + " subscriptions on this instance, its limit; unsubscribe some first.";
        }
        return null;
    }

    /** One more subscription of {@code tenant}. */
    public void added(String tenant) {
        byTenant.computeIfAbsent(tenant, t -> new AtomicInteger()).incrementAndGet();
        total.incrementAndGet();
    }

    /** One subscription of {@code tenant} ended. */
    public void removed(String tenant) {
        AtomicInteger count = byTenant.get(tenant);
        if (count != null) {
            count.decrementAndGet();
            total.decrementAndGet();
        }
    }

    public int total() {
        return total.get();
    }

    public int of(String tenant) {
        AtomicInteger count = byTenant.get(tenant);
        return count == null ? 0 : count.get();
    }
}
