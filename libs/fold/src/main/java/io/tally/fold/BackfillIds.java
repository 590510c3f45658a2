package io.tally.fold;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The dedup index of one backfill, in memory: per partition, the ids of the backfilled tenant in the generations
 * ({@link DedupHorizon}) a fold may look in, with the offset each was first seen at, so the backfill drops exactly the
 * duplicates the engine would have dropped reading the same records. Generations older than the one before the
 * partition's watermark are forgotten; more than {@code maxIds} held at once is {@link TooMany}: a backfill that would
 * need more memory than it may take fails rather than take the service down.
 */
public final class BackfillIds {

    /** More ids in one dedup horizon than a backfill may hold. */
    public static final class TooMany extends RuntimeException {
        public TooMany(String message) {
            super(message);
        }
    }

    private final long maxIds;
    private final Map<Integer, Map<DedupHorizon.Generation, Map<String, Long>>> byPartition = new HashMap<>();
    private long held;

    public BackfillIds(long maxIds) {
        this.maxIds = maxIds;
    }

    /** Where each id of these reads was first seen on its partition (partition → tenant → id → offset), as {@link MicroBatch#fold} wants it. */
    public Map<Integer, Map<String, Map<String, Long>>> seen(String tenant, Map<Integer, List<MicroBatch.Read>> reads) {
        Map<Integer, Map<String, Map<String, Long>>> seen = new HashMap<>();
        reads.forEach((partition, events) -> {
            Map<DedupHorizon.Generation, Map<String, Long>> generations = byPartition.get(partition);
            if (generations == null) {
                return;
            }
            Map<String, Long> found = new HashMap<>();
            for (MicroBatch.Read r : events) {
                for (Map<String, Long> ids : generations.values()) {
                    Long offset = ids.get(r.event().id());
                    if (offset != null) {
                        found.merge(r.event().id(), offset, Math::min);
                    }
                }
            }
            seen.put(partition, Map.of(tenant, found));
        });
        return seen;
    }

    /** Keeps the new ids of a folded batch and forgets the generations its watermark left behind. */
    public void keep(PartitionFold fold, String tenant) {
        Map<DedupHorizon.Generation, Map<String, Long>> generations = byPartition.computeIfAbsent(fold.partition(), p -> new HashMap<>());
        fold.newIds().getOrDefault(tenant, Map.of()).forEach((generation, ids) -> {
            Map<String, Long> kept = generations.computeIfAbsent(generation, g -> new HashMap<>());
            ids.forEach((id, offset) -> {
                if (kept.putIfAbsent(id, offset) == null) {
                    held++;
                }
            });
        });
        Long watermark = fold.watermarks().get(tenant);
        if (watermark != null) {
            generations.entrySet().removeIf(e -> {
                DedupHorizon.Generation current = DedupHorizon.generation(watermark, e.getKey().widthMillis());
                if (e.getKey().index() < current.index() - 1) {
                    held -= e.getValue().size();
                    return true;
                }
                return false;
            });
        }
        if (held > maxIds) {
            throw new TooMany("the backfill would hold " + held + " event ids at once to count duplicates once (more than "
                + maxIds + ", TALLY_BACKFILL_MAX_IDS): the rule's window and lateness span too many events; backfill a shorter span"
                + " or ask the operator for a higher limit");
        }
    }

    /** Ids held now. */
    public long size() {
        return held;
    }
}
