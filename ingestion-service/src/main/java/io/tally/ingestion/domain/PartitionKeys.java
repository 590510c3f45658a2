package io.tally.ingestion.domain;

import io.tally.model.Event;

import java.util.Set;

/**
 * Chooses each event's Kafka key. Normally {@code tenant:category}; a configured hot key is salted
 * with a hash of the event id, so its load spreads over partitions while duplicates of one id
 * still land on the same partition and are counted once.
 */
public final class PartitionKeys {

    private final Set<String> hotKeys;
    private final int saltBuckets;

    public PartitionKeys(Set<String> hotKeys, int saltBuckets) {
        if (saltBuckets < 1) {
            throw new IllegalArgumentException("salt buckets must be at least 1");
        }
        this.hotKeys = Set.copyOf(hotKeys);
        this.saltBuckets = saltBuckets;
    }

    public String keyOf(Event event) {
        String key = event.partitionKey();
        if (!hotKeys.contains(key)) {
            return key;
        }
        return key + "#" + Math.floorMod(event.id().hashCode(), saltBuckets);
    }
}
