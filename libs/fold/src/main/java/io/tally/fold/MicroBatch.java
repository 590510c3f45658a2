package io.tally.fold;

import io.tally.model.Event;
import io.tally.model.EventCodec;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * One micro-batch of the aggregation engine, the records of every partition read since the last flush, as
 * the domain sees it before and after Redis is asked: decoded once (unreadable records set apart for the
 * dead-letter topic), with one rule list per tenant for the whole batch (a version arriving meanwhile applies
 * from the next batch: two versions of one rule in one batch would fold into two deltas, one overwriting the
 * other), what has to be looked up (the rules' fences and finality marks, the ids in the dedup index) and then
 * the folds. Pure: the engine's loop does the input and output around it.
 */
public final class MicroBatch {

    /** One record as read from the event log. */
    public record Source(long offset, byte[] bytes) {
    }

    /** A record that is not an event this engine can read: it goes to the dead-letter topic as it is. */
    public record Unreadable(int partition, long offset, byte[] bytes, String reason) {
    }

    /** A decoded event and the record it came from. */
    public record Read(long offset, Event event, byte[] bytes) {
    }

    private final Map<Integer, List<Read>> reads = new LinkedHashMap<>();
    private final List<Unreadable> unreadable = new ArrayList<>();
    private final Map<String, List<CompiledRule>> rules = new HashMap<>();
    private final Function<String, List<CompiledRule>> rulesOf;

    /** Decodes the records of each partition (in offset order); {@code activeRules} gives a tenant's rules now. */
    public MicroBatch(Map<Integer, List<Source>> records, Function<String, List<CompiledRule>> activeRules) {
        this.rulesOf = tenant -> rules.computeIfAbsent(tenant, activeRules);
        records.forEach((partition, sources) -> {
            List<Read> decoded = new ArrayList<>(sources.size());
            for (Source source : sources) {
                try {
                    decoded.add(new Read(source.offset(), EventCodec.decode(source.bytes()), source.bytes()));
                } catch (IllegalArgumentException e) {
                    unreadable.add(new Unreadable(partition, source.offset(), source.bytes(), "the event could not be read: " + e.getMessage()));
                }
            }
            reads.put(partition, decoded);
        });
    }

    /** The decoded events of each partition, in offset order. */
    public Map<Integer, List<Read>> reads() {
        return reads;
    }

    /** The partitions of the batch, in the order they were read. */
    public Set<Integer> partitions() {
        return reads.keySet();
    }

    public List<Unreadable> unreadable() {
        return unreadable;
    }

    /** The tenant's rules for the whole batch. */
    public List<CompiledRule> rulesOf(String tenant) {
        return rulesOf.apply(tenant);
    }

    /** The rule shards the events of each partition may touch: whose fences and finality marks the fold needs. */
    public Map<Integer, List<CompiledRule>> rulesByPartition() {
        Map<Integer, List<CompiledRule>> involved = new HashMap<>();
        reads.forEach((partition, events) -> {
            List<CompiledRule> partitionRules = new ArrayList<>();
            events.stream().map(r -> r.event().tenant()).distinct().forEach(tenant -> rulesOf(tenant).forEach(r -> partitionRules.addAll(r.allShards())));
            involved.put(partition, partitionRules);
        });
        return involved;
    }

    /**
     * The ids to look up in the dedup index: per partition and counted tenant (a tenant without rules is counted
     * by nothing), its distinct ids and the generations its events' times and watermark can fall in.
     */
    public List<IdLookup> idLookups(Map<Integer, PartitionState> states) {
        List<IdLookup> lookups = new ArrayList<>();
        reads.forEach((partition, events) -> {
            Map<String, List<Event>> byTenant = new LinkedHashMap<>();
            events.forEach(r -> byTenant.computeIfAbsent(r.event().tenant(), t -> new ArrayList<>()).add(r.event()));
            byTenant.forEach((tenant, tenantEvents) -> {
                List<CompiledRule> tenantRules = rulesOf(tenant);
                if (tenantRules.isEmpty()) {
                    return;
                }
                long width = DedupHorizon.widthFor(ActiveRules.horizonMillis(tenantRules));
                long[] times = tenantEvents.stream().mapToLong(Event::timeMillis).toArray();
                lookups.add(new IdLookup(partition, tenant, DedupHorizon.toCheck(states.get(partition).watermark(tenant), times, width),
                    tenantEvents.stream().map(Event::id).distinct().toList()));
            });
        });
        return lookups;
    }

    /**
     * Folds every partition ({@link PartitionFold}) at wall-clock time {@code nowMillis}, with each rule's finality
     * mark and where the dedup index first saw each id (partition → tenant → id → offset), each rule's delta cut into
     * parts of at most about {@code scriptCells} writes.
     */
    public List<PartitionFold> fold(Map<Integer, PartitionState> states, long nowMillis, ToLongFunction<CompiledRule> closedUpTo,
                                    Map<Integer, Map<String, Map<String, Long>>> seen, long scriptCells) {
        List<PartitionFold> folds = new ArrayList<>(reads.size());
        reads.forEach((partition, events) -> {
            Map<String, Map<String, Long>> seenHere = seen.getOrDefault(partition, Map.of());
            DedupIndex index = (p, tenant, id) -> seenHere.getOrDefault(tenant, Map.of()).getOrDefault(id, -1L);
            PartitionFold fold = new PartitionFold(partition, states.get(partition), nowMillis, closedUpTo, scriptCells);
            for (Read r : events) {
                fold.add(r.offset(), r.event(), index, rulesOf);
            }
            fold.finish();
            folds.add(fold);
        });
        return folds;
    }

    /** The events of one partition past {@code afterOffset} that the rule shard counts: what quarantining its batch holds back. */
    public List<Read> matching(int partition, CompiledRule rule, long afterOffset) {
        return reads.getOrDefault(partition, List.of()).stream()
            .filter(r -> r.offset() > afterOffset && r.event().tenant().equals(rule.tenant()) && rule.owns(r.event()))
            .toList();
    }
}
