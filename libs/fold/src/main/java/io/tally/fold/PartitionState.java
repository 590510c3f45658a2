package io.tally.fold;

import java.util.HashMap;
import java.util.Map;

/**
 * What survives between batches of one partition: each tenant's watermark there, and the fence of each shard of each
 * rule (the last offset of this partition already applied to it). Restored from Redis on assignment.
 */
public final class PartitionState {

    private final Map<String, Long> watermarks = new HashMap<>();
    private final Map<String, Long> fences = new HashMap<>();

    /** Raises the tenant's watermark to {@code time} if higher; returns the watermark. */
    public long advance(String tenant, long time) {
        return watermarks.merge(tenant, time, Math::max);
    }

    public long watermark(String tenant) {
        return watermarks.getOrDefault(tenant, Long.MIN_VALUE);
    }

    public Map<String, Long> watermarks() {
        return watermarks;
    }

    public void restoreWatermark(String tenant, long watermark) {
        watermarks.merge(tenant, watermark, Math::max);
    }

    /** The fence of the rule's shard; -1 when nothing was ever applied from this partition. */
    public long fence(CompiledRule rule) {
        return fences.getOrDefault(rule.key(), -1L);
    }

    public boolean knowsFence(CompiledRule rule) {
        return fences.containsKey(rule.key());
    }

    public void setFence(CompiledRule rule, long offset) {
        fences.put(rule.key(), offset);
    }
}
