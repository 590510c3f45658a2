package io.tally.fold;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One rule shard's deltas of one batch on several partitions, folded into what one script writes: a group that
 * several partitions' events joined is written once, not once per partition. A hot rule's groups repeat on every
 * partition, so a batch of twelve partitions writes each of them once instead of up to twelve times. Each partition's
 * delta must be a single {@link RuleDelta.Part} (the whole batch of that partition), and the script moves every
 * partition's fence at once, all or nothing; it holds at most about {@code maxCells} writes, as a part does.
 */
public final class CombinedPart {

    /** One partition's share: its part, the fence the script expects, and where it moves it. */
    public record Share(int partition, RuleDelta.Part part, long expectedFence, long end) {
    }

    private final int ops;
    private final long maxCells;
    private final List<Share> shares = new ArrayList<>();
    private final Map<Long, Map<String, GroupDelta>> windows = new HashMap<>();
    private long late;
    private long cells;

    /** An empty combination for a rule with {@code ops} aggregations, of at most about {@code maxCells} writes. */
    public CombinedPart(int ops, long maxCells) {
        this.ops = ops;
        this.maxCells = maxCells;
    }

    /**
     * Adds a partition's share when the writes it adds keep the combination within its cells (a first share always
     * fits); whether it was added.
     */
    public boolean add(Share share) {
        long added = 0;
        for (Map.Entry<Long, Map<String, GroupDelta>> w : share.part().windows().entrySet()) {
            Map<String, GroupDelta> held = windows.getOrDefault(w.getKey(), Map.of());
            for (Map.Entry<String, GroupDelta> g : w.getValue().entrySet()) {
                added += (held.containsKey(g.getKey()) ? 0 : RuleDelta.GROUP_CELLS + ops) + g.getValue().valueCells();
            }
        }
        if (!shares.isEmpty() && cells + added > maxCells) {
            return false;
        }
        for (Map.Entry<Long, Map<String, GroupDelta>> w : share.part().windows().entrySet()) {
            // In order of first appearance, as in a part: a window's first groups are the ones kept at the tenant's quota.
            Map<String, GroupDelta> held = windows.computeIfAbsent(w.getKey(), s -> new LinkedHashMap<>());
            w.getValue().forEach((group, delta) -> held.computeIfAbsent(group, g -> new GroupDelta(ops)).absorb(delta));
        }
        late += share.part().lateEvents();
        cells += added;
        shares.add(share);
        return true;
    }

    /** The partitions' shares, in the order they were added. */
    public List<Share> shares() {
        return shares;
    }

    /** Per window, per group: every share's events folded together. */
    public Map<Long, Map<String, GroupDelta>> windows() {
        return windows;
    }

    /** Late events over every share. */
    public long lateEvents() {
        return late;
    }

    /** The writes the combination makes, about (as {@link RuleDelta.Part#cells()}). */
    public long cells() {
        return cells;
    }
}
