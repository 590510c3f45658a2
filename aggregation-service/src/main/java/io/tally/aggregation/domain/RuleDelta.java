package io.tally.aggregation.domain;

import java.util.HashMap;
import java.util.Map;

/** Everything one batch of one partition adds to one rule: per window, per group; and late events. */
public final class RuleDelta {

    private final CompiledRule rule;
    private final Map<Long, Map<String, GroupDelta>> windows = new HashMap<>();
    private long late;

    RuleDelta(CompiledRule rule) {
        this.rule = rule;
    }

    public CompiledRule rule() {
        return rule;
    }

    GroupDelta group(long windowStart, String groupKey) {
        return windows.computeIfAbsent(windowStart, w -> new HashMap<>())
            .computeIfAbsent(groupKey, g -> new GroupDelta(rule.ops().length));
    }

    void late() {
        late++;
    }

    public Map<Long, Map<String, GroupDelta>> windows() {
        return windows;
    }

    public long lateEvents() {
        return late;
    }
}
