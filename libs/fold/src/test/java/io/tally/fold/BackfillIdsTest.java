package io.tally.fold;

import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.RuleRecord;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The backfill's in-memory dedup index, driven as the backfill drives it: batches of one partition folded one after another. */
class BackfillIdsTest {

    private static final long T0 = Instant.parse("2026-12-07T10:00:00Z").toEpochMilli();
    private static final CompiledRule RULE = CompiledRule.compileBackfill(new RuleRecord("acme", "r", 2, "r", null, List.of(),
        List.of(new RuleRecord.Aggregation("n", "count", null, null)), new RuleRecord.Window("PT1M", null), "PT5S", "PT24H", null,
        new RuleRecord.Backfill("PT1H", "2026-12-07T09:00:00Z", RuleRecord.Backfill.RUNNING, null), null));

    private final PartitionState state = new PartitionState();
    private long offset;

    private PartitionFold fold(BackfillIds ids, Object... idsAndTimes) {
        List<MicroBatch.Source> sources = new ArrayList<>();
        for (int i = 0; i < idsAndTimes.length; i += 2) {
            Event e = new Event("acme", (String) idsAndTimes[i], "c", T0 + (Long) idsAndTimes[i + 1], null, null, null, Map.of(), null);
            sources.add(new MicroBatch.Source(offset++, EventCodec.encode(e)));
        }
        MicroBatch batch = new MicroBatch(Map.of(0, sources), t -> t.equals("acme") ? List.of(RULE) : List.of());
        PartitionFold fold = batch.fold(Map.of(0, state), T0 + 3_600_000, r -> Long.MIN_VALUE, ids.seen("acme", batch.reads()), 20_000).getFirst();
        ids.keep(fold, "acme");
        return fold;
    }

    @Test
    void aCopyInALaterBatchIsDroppedAsTheEngineDropsItAndItsOwnReplayIsNot() {
        BackfillIds ids = new BackfillIds(1_000);
        PartitionFold first = fold(ids, "a", 0L, "b", 1_000L, "c", 2_000L);
        assertEquals(0, first.duplicates());
        PartitionFold second = fold(ids, "a", 3_000L, "d", 4_000L);
        assertEquals(1, second.duplicates(), "a was counted in the batch before");
        assertEquals(1, second.deltas().get(RULE.key()).counted());
        assertEquals(4, ids.size());
    }

    @Test
    void idsOfGenerationsTheWatermarkLeftBehindAreForgotten() {
        BackfillIds ids = new BackfillIds(1_000);
        fold(ids, "a", 0L, "b", 1_000L);
        assertEquals(2, ids.size());
        // The horizon is 65 s, kept in 2-minute generations: ten minutes on, the first generation is two behind.
        fold(ids, "c", 600_000L);
        fold(ids, "d", 601_000L);
        assertTrue(ids.size() <= 2, "held " + ids.size());
        PartitionFold late = fold(ids, "a", 602_000L);
        assertEquals(0, late.duplicates(), "a copy past the horizon is no duplicate (its windows closed long ago anyway)");
    }

    @Test
    void aSpanNeedingMoreIdsThanAllowedFailsSayingWhatToDo() {
        BackfillIds ids = new BackfillIds(2);
        BackfillIds.TooMany e = assertThrows(BackfillIds.TooMany.class, () -> fold(ids, "a", 0L, "b", 1L, "c", 2L));
        assertTrue(e.getMessage().contains("TALLY_BACKFILL_MAX_IDS") && e.getMessage().contains("shorter span"), e.getMessage());
    }
}
