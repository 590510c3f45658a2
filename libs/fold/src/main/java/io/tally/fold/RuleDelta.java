package io.tally.fold;

import io.tally.model.Event;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Everything one batch of one partition adds to one rule: per window, per group; and late events. It is cut into
 * {@link Part}s by offset, each holding at most about {@code maxCells} writes, so that no single script holds a Redis
 * master for long however much one tenant's rule makes of a batch: each part is applied by its own script, moving
 * the rule's fence to the part's end, so a crash between parts leaves the fence exactly where the applied writes
 * end and a replay folds only what follows.
 */
public final class RuleDelta {

    /** Writes a new group costs in a script besides its aggregations: the group op and its event count. */
    static final int GROUP_CELLS = 2;

    /** The events of one offset range of the batch that this rule counts, folded. */
    public static final class Part {

        private final Map<Long, Map<String, GroupDelta>> windows = new HashMap<>();
        private long late;
        private long cells;
        private long end = OPEN;

        public Map<Long, Map<String, GroupDelta>> windows() {
            return windows;
        }

        public long lateEvents() {
            return late;
        }

        /** The writes this part makes, about: groups new to it times (2 + aggregations), plus distinct and topk values. */
        public long cells() {
            return cells;
        }

        /** The last offset this part covers; {@link #OPEN} for the last part, which ends where the batch ends. */
        public long end() {
            return end;
        }

        boolean isEmpty() {
            return windows.isEmpty() && late == 0;
        }
    }

    /** The end of the last part: the batch's last offset. */
    public static final long OPEN = Long.MAX_VALUE;

    private final CompiledRule rule;
    private final long maxCells;
    private final List<Part> parts = new ArrayList<>(1);
    private final Set<Long> replayed = new HashSet<>();
    private Part current = new Part();
    private long counted;

    /** A delta whose parts hold at most about {@code maxCells} writes each (an event is never split). */
    RuleDelta(CompiledRule rule, long maxCells) {
        this.rule = rule;
        this.maxCells = Math.max(1, maxCells);
        parts.add(current);
    }

    public CompiledRule rule() {
        return rule;
    }

    /** About how many writes a part holds at most. */
    public long maxCells() {
        return maxCells;
    }

    /** The event at {@code offset} is folded next: it starts a new part when the current one is full. */
    void at(long offset) {
        if (current.cells >= maxCells && !current.isEmpty()) {
            current.end = offset - 1;
            current = new Part();
            parts.add(current);
        }
    }

    /** Folds one event into a group of a window of the current part. */
    void add(long windowStart, String groupKey, Event e) {
        // In order of first appearance: a window's first groups are the ones kept when the tenant's quota is reached.
        Map<String, GroupDelta> groups = current.windows.computeIfAbsent(windowStart, w -> new LinkedHashMap<>());
        GroupDelta group = groups.get(groupKey);
        if (group == null) {
            group = new GroupDelta(rule.ops().length);
            groups.put(groupKey, group);
            current.cells += GROUP_CELLS + rule.ops().length;
        }
        current.cells += group.add(e, rule.ops());
    }

    void late() {
        current.late++;
    }

    /** One event joined at least one window of the rule. */
    void count() {
        counted++;
    }

    /** Events of this batch the rule counted (joined one of its windows), replays not included. */
    public long counted() {
        return counted;
    }

    /** A window an event already applied before a failure touched: announced again, nothing written. */
    void replayed(long windowStart) {
        replayed.add(windowStart);
    }

    /** Every window this batch touched, the replayed ones included: what is announced after the flush. */
    public Set<Long> touched() {
        Set<Long> all = new TreeSet<>(replayed);
        parts.forEach(p -> all.addAll(p.windows.keySet()));
        return all;
    }

    /** The parts in offset order; at least one (possibly empty: a batch that only replays still moves the fence). */
    public List<Part> parts() {
        return parts;
    }

    /** Late events over every part. */
    public long lateEvents() {
        return parts.stream().mapToLong(Part::lateEvents).sum();
    }
}
