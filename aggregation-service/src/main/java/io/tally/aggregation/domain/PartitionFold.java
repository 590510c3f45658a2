package io.tally.aggregation.domain;

import io.tally.model.Event;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Folds one micro-batch of one Kafka partition into per-rule deltas, in offset order, applying the
 * contract's event-time semantics:
 * <ul>
 *   <li>the watermark is per partition and tenant: the highest event time seen from that tenant here;</li>
 *   <li>an event joins each of its windows still open ({@code watermark < end + allowedLateness});
 *       with none open it is late: counted in the rule's late events, kept for the late topic;</li>
 *   <li>a duplicate id (first seen at an earlier offset, or earlier in this batch) is dropped; an id first
 *       seen at this very offset is this event replayed after a failure, not a duplicate;</li>
 *   <li>an event at or below a rule's fence was applied before a crash and is skipped for that rule.</li>
 * </ul>
 */
public final class PartitionFold {

    /** Event-time bucket of the dedup horizon. */
    public static final long DEDUP_BUCKET_MILLIS = 60_000;

    private final int partition;
    private final PartitionState state;
    private final Map<CompiledRule, RuleDelta> deltas = new java.util.IdentityHashMap<>();
    private final Map<String, Map<Long, Map<String, Long>>> newIds = new HashMap<>();
    private final List<Event> lateEvents = new ArrayList<>();
    private long[] starts = new long[16];
    private long firstOffset = -1;
    private long lastOffset = -1;
    private long duplicates;
    private long events;

    public PartitionFold(int partition, PartitionState state) {
        this.partition = partition;
        this.state = state;
    }

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
        long bucket = bucketOf(e.timeMillis());
        Map<String, Long> batchIds = newIds.computeIfAbsent(e.tenant(), t -> new HashMap<>()).computeIfAbsent(bucket, b -> new HashMap<>());
        if (batchIds.containsKey(e.id())) {
            duplicates++;
            return;
        }
        long firstSeen = seenBefore.firstSeenAt(partition, e.tenant(), bucket, e.id());
        if (firstSeen >= 0 && firstSeen < offset) {
            duplicates++;
            return;
        }
        batchIds.put(e.id(), offset);
        long watermark = state.advance(e.tenant(), e.timeMillis());
        boolean late = false;
        for (CompiledRule rule : rulesOf.apply(e.tenant())) {
            if (offset <= state.fence(rule)) {
                continue;
            }
            if (!rule.matches(e)) {
                continue;
            }
            if (starts.length < rule.windows().windowsPerEvent()) {
                starts = new long[rule.windows().windowsPerEvent()];
            }
            int n = rule.windows().assign(e.timeMillis(), starts);
            long size = rule.windows().sizeMillis();
            String group = null;
            boolean joined = false;
            for (int i = 0; i < n; i++) {
                long start = starts[i];
                if (watermark < start + size + rule.latenessMillis()) {
                    if (group == null) {
                        group = rule.groupKey(e);
                    }
                    delta(rule).group(start, group).add(e, rule.ops());
                    joined = true;
                }
            }
            if (!joined) {
                delta(rule).late();
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
            delta = new RuleDelta(rule);
            deltas.put(rule, delta);
        }
        return delta;
    }

    public static long bucketOf(long timeMillis) {
        return Math.floorDiv(timeMillis, DEDUP_BUCKET_MILLIS);
    }

    public int partition() {
        return partition;
    }

    /** The batch's deltas keyed by {@code tenant:ruleId}. */
    public Map<String, RuleDelta> deltas() {
        Map<String, RuleDelta> byKey = new HashMap<>();
        deltas.forEach((rule, delta) -> byKey.put(rule.tenant() + ":" + rule.id(), delta));
        return byKey;
    }

    /** New ids of this batch (with the offset each was first seen at) by tenant and event-time bucket, for the dedup index. */
    public Map<String, Map<Long, Map<String, Long>>> newIds() {
        return newIds;
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
