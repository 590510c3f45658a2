package io.tally.subscription.domain;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Subscriptions whose socket went away, kept for the history interval so a client that reconnects
 * and subscribes again with the same id, target and {@code resumeVersion} continues where it was.
 * Bounded in size; the oldest go first.
 */
public final class ResumeRegistry {

    private record Entry(Subscription subscription, long until) {
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final long keepMillis;
    private final int capacity;

    public ResumeRegistry(long keepMillis, int capacity) {
        this.keepMillis = keepMillis;
        this.capacity = capacity;
    }

    public synchronized void retain(String target, Subscription subscription, long now) {
        String key = key(subscription.tenant(), subscription.id(), target);
        entries.remove(key);
        entries.put(key, new Entry(subscription, now + keepMillis));
        expire(now);
        while (entries.size() > capacity) {
            Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
            it.next();
            it.remove();
        }
    }

    /** The retained subscription of this tenant, client id and target, taken out of the registry. */
    public synchronized Optional<Subscription> take(String tenant, String id, String target, long now) {
        expire(now);
        Entry entry = entries.remove(key(tenant, id, target));
        return entry == null ? Optional.empty() : Optional.of(entry.subscription());
    }

    public synchronized int size() {
        return entries.size();
    }

    private void expire(long now) {
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
            if (it.next().until() > now) {
                break; // insertion order is expiry order
            }
            it.remove();
        }
    }

    private static String key(String tenant, String id, String target) {
        return tenant + '\u0000' + id + '\u0000' + target;
    }
}
