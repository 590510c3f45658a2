package io.tally.fold;

import io.tally.model.Event;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * Folds one micro-batch of one Kafka partition into per-rule deltas, in offset order, applying the
 * contract's event-time semantics:
 * <ul>
 *   <li>the watermark is per partition and tenant: the highest event time seen from that tenant here;</li>
 *   <li>an event joins each of its windows still open ({@code watermark < end + allowedLateness}), not closed by
 *       the rule's finality mark ({@link Finality}: a window served final never changes) and still
 *       kept ({@code now < end + retention}: a window past its retention is gone from the store, and an event
 *       written there would be erased again); with none open it is late: counted in the rule's late events,
 *       kept for the late topic;</li>
 *   <li>a duplicate id (first seen at an earlier offset, or earlier in this batch) is dropped, whatever its
 *       category, time or other fields ({@link DedupHorizon}); an id first seen at this very offset is this
 *       event replayed after a failure, not a duplicate;</li>
 *   <li>a tenant without rules is not counted by anything: its ids are not remembered;</li>
 *   <li>an event at or below a rule's fence was applied before a failure: nothing of it is written again for that
 *       rule, but every window it may have joined is announced again (the failure may have come between the write
 *       and the announcement). Whether it was late was settled when it was applied: late events are published
 *       before the batch's fences move, so a replay never publishes one again, nor one that only looks late now
 *       because the watermark moved on since.</li>
 * </ul>
 */
public final class PartitionFold {

    private final int partition;
    private final PartitionState state;
    private final long nowMillis;
    private final ToLongFunction<CompiledRule> closedUpTo;
    private final long scriptCells;
    private final Set<String> tenants = new HashSet<>();
    private final Map<CompiledRule, RuleDelta> deltas = new IdentityHashMap<>();
    private final Map<String, Map<DedupHorizon.Generation, Map<String, Long>>> newIds = new HashMap<>();
    /** This batch's ids per tenant (any generation), with the offset each was first seen at. */
    private final Map<String, Map<String, Long>> batchIds = new HashMap<>();
    private final Map<String, Long> widths = new HashMap<>();
    private final List<Event> lateEvents = new ArrayList<>();
    private long[] starts = new long[16];
    private long firstOffset = -1;
    private long lastOffset = -1;
    private long duplicates;
    private long events;
    private Map<String, Long> watermarksAfter;

    /** A fold at wall-clock time {@code nowMillis} (which decides what retention has already removed), no window closed. */
    public PartitionFold(int partition, PartitionState state, long nowMillis) {
        this(partition, state, nowMillis, rule -> Long.MIN_VALUE, DEFAULT_SCRIPT_CELLS);
    }

    /**
     * As above, with each rule closed up to {@code closedUpTo} ({@link Finality}), and each rule's delta cut into parts
     * of at most about {@code scriptCells} writes ({@link RuleDelta}).
     */
    public PartitionFold(int partition, PartitionState state, long nowMillis, ToLongFunction<CompiledRule> closedUpTo,
                         long scriptCells) {
        this.partition = partition;
        this.state = state;
        this.nowMillis = nowMillis;
        this.closedUpTo = closedUpTo;
        this.scriptCells = scriptCells;
    }

    /** The default size of a rule's part: writes of one apply script. */
    public static final long DEFAULT_SCRIPT_CELLS = 20_000;

    /**
     * Folds one event. {@code seenBefore} answers where (tenant, id) was first seen in an earlier batch;
     * {@code rulesOf} gives a tenant's active rules.
     */
    public void add(long offset, Event e, DedupIndex seenBefore, Function<String, List<CompiledRule>> rulesOf) {
        if (firstOffset < 0) {
            firstOffset = offset;
        }
        lastOffset = offset;
        events++;
        tenants.add(e.tenant());
        List<CompiledRule> rules = rulesOf.apply(e.tenant());
        if (rules.isEmpty()) {
            state.advance(e.tenant(), e.timeMillis());
            return;
        }
        Map<String, Long> ids = batchIds.computeIfAbsent(e.tenant(), t -> new HashMap<>());
        if (ids.containsKey(e.id())) {
            duplicates++;
            return;
        }
        long firstSeen = seenBefore.firstSeenAt(partition, e.tenant(), e.id());
        if (firstSeen >= 0 && firstSeen < offset) {
            duplicates++;
            return;
        }
        ids.put(e.id(), offset);
        long watermark = state.advance(e.tenant(), e.timeMillis());
        // Kept in the generation of the watermark this event leaves: its own time when it moved the watermark on. Not the
        // watermark before it, which may be hours old for a tenant quiet here: later look-ups, made from the watermark
        // now, would not reach that generation and would count a copy of this event again.
        long width = widths.computeIfAbsent(e.tenant(), t -> DedupHorizon.widthFor(ActiveRules.horizonMillis(rules)));
        DedupHorizon.Generation generation = DedupHorizon.generation(watermark, width);
        newIds.computeIfAbsent(e.tenant(), t -> new HashMap<>()).computeIfAbsent(generation, g -> new HashMap<>()).put(e.id(), offset);
        boolean late = false;
        for (CompiledRule first : rules) {
            if (!first.matches(e)) {
                continue;
            }
            // A rule kept in shards is folded into the shard that keeps the event's group, with that shard's fence.
            String group = first.shards() == 1 ? null : first.groupKey(e);
            CompiledRule rule = group == null ? first : first.shardOf(group);
            boolean replayed = offset <= state.fence(rule);
            if (starts.length < rule.windows().windowsPerEvent()) {
                starts = new long[rule.windows().windowsPerEvent()];
            }
            int n = rule.windows().assign(e.timeMillis(), starts);
            long size = rule.windows().sizeMillis();
            long closed = closedUpTo.applyAsLong(rule);
            RuleDelta delta = replayed ? null : delta(rule);
            if (delta != null) {
                delta.at(offset);
            }
            boolean joined = false;
            for (int i = 0; i < n; i++) {
                long start = starts[i];
                long close = start + size + rule.latenessMillis();
                if (replayed) {
                    // The watermark may have moved on since it was applied: announce every window it may have joined.
                    if (nowMillis < rule.expiresAt(start)) {
                        delta(rule).replayed(start);
                    }
                } else if (watermark < close && close > closed && nowMillis < rule.expiresAt(start)) {
                    if (group == null) {
                        group = rule.groupKey(e);
                    }
                    delta.add(start, group, e);
                    joined = true;
                }
            }
            if (joined) {
                delta.count();
            } else if (!replayed) {
                delta.late();
                late = true;
            }
        }
        if (late) {
            lateEvents.add(e);
        }
    }

    private RuleDelta delta(CompiledRule rule) {
        RuleDelta delta = deltas.get(rule);
        if (delta == null) {
            delta = new RuleDelta(rule, scriptCells);
            deltas.put(rule, delta);
        }
        return delta;
    }

    public int partition() {
        return partition;
    }

    /** The batch is folded: the watermarks it leaves are kept ({@link #watermarks()}), whatever later batches fold. */
    public void finish() {
        watermarksAfter = Map.copyOf(state.watermarks());
    }

    /**
     * Each tenant's watermark on the partition after this batch: what is persisted with it. Not the partition's state
     * now, which the next batch may already have moved (folded while this one is applied): persisted with this batch, a
     * crash before that one is applied would make its own events look late when it is read again.
     */
    public Map<String, Long> watermarks() {
        return watermarksAfter != null ? watermarksAfter : Map.copyOf(state.watermarks());
    }

    /** The batch's deltas keyed by rule shard ({@link CompiledRule#key()}). */
    public Map<String, RuleDelta> deltas() {
        Map<String, RuleDelta> byKey = new HashMap<>();
        deltas.forEach((rule, delta) -> byKey.put(rule.key(), delta));
        return byKey;
    }

    /** New ids of this batch (with the offset each was first seen at) by tenant and generation, for the dedup index. */
    public Map<String, Map<DedupHorizon.Generation, Map<String, Long>>> newIds() {
        return newIds;
    }

    /**
     * Adds this batch's new ids to {@code seen} (partition → tenant → id → the lowest offset it was seen at), as the
     * dedup index will hold them once the batch is persisted: the next batch, folded while this one is still applied,
     * must find them there.
     */
    public void addNewIdsTo(Map<Integer, Map<String, Map<String, Long>>> seen) {
        newIds.forEach((tenant, generations) -> generations.values().forEach(ids -> ids.forEach((id, offset) ->
            seen.computeIfAbsent(partition, p -> new HashMap<>()).computeIfAbsent(tenant, t -> new HashMap<>()).merge(id, offset, Math::min))));
    }

    /** The tenants with events in this batch. */
    public Set<String> tenants() {
        return tenants;
    }

    /** The finality mark the fold used for {@code rule} (the apply script refuses the delta if it moved since). */
    public long closedUpTo(CompiledRule rule) {
        return closedUpTo.applyAsLong(rule);
    }

    public List<Event> lateEvents() {
        return lateEvents;
    }

    public long firstOffset() {
        return firstOffset;
    }

    public long lastOffset() {
        return lastOffset;
    }

    public long duplicates() {
        return duplicates;
    }

    public long events() {
        return events;
    }

    public boolean isEmpty() {
        return lastOffset < 0;
    }
}
