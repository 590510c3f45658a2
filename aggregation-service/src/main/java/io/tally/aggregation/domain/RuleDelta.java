package io.tally.aggregation.domain;

import java.util.HashMap;
import java.util.Map;

/** Everything one batch of one partition adds to one rule: per window, per group; and late events. */
public final class RuleDelta {

    private final CompiledRule rule;
    private final Map<Long, Map<String, GroupDelta>> windows = new HashMap<>();
    private final java.util.Set<Long> replayed = new java.util.HashSet<>();
    private long late;

    RuleDelta(CompiledRule rule) {
        this.rule = rule;
    }

    public CompiledRule rule() {
        return rule;
    }

    GroupDelta group(long windowStart, String groupKey) {
        // In order of first appearance: a window's first groups are the ones kept when the tenant's quota is reached.
        return windows.computeIfAbsent(windowStart, w -> new java.util.LinkedHashMap<>())
            .computeIfAbsent(groupKey, g -> new GroupDelta(rule.ops().length));
    }

    void late() {
        late++;
    }

    /** A window an event already applied before a failure touched: announced again, nothing written. */
    void replayed(long windowStart) {
        replayed.add(windowStart);
    }

    /** Every window this batch touched, the replayed ones included: what is announced after the flush. */
    public java.util.Set<Long> touched() {
        java.util.Set<Long> all = new java.util.TreeSet<>(windows.keySet());
        all.addAll(replayed);
        return all;
    }

    public Map<Long, Map<String, GroupDelta>> windows() {
        return windows;
    }

    public long lateEvents() {
        return late;
    }
}
