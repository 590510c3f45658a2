package io.tally.fold;

import io.tally.model.Event;
import io.tally.model.RuleRecord;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SettlementTest {

    private static final long T0 = Instant.parse("2026-11-23T10:00:00Z").toEpochMilli();

    private final CompiledRule good = rule("good");
    private final CompiledRule bad = rule("bad");
    private final PartitionState state = new PartitionState();
    private final Map<Integer, PartitionState> states = Map.of(3, state);
    private final PoisonBatches poison = new PoisonBatches(2);

    private static CompiledRule rule(String id) {
        return CompiledRule.compile(new RuleRecord("acme", id, 1, id, null, List.of(),
            List.of(new RuleRecord.Aggregation("n", "count", null, null)), new RuleRecord.Window("PT1M", null), "PT5S", "PT24H"));
    }

    private PartitionFold fold() {
        PartitionFold fold = new PartitionFold(3, state, T0 + 60_000);
        fold.add(40, new Event("acme", "a", "c", T0 + 1, null, null, null, Map.of(), null), DedupIndex.NONE, t -> List.of(good, bad));
        return fold;
    }

    private static Map<Integer, Map<String, ApplyOutcome>> outcomes(ApplyOutcome good, ApplyOutcome bad) {
        return Map.of(3, Map.of("acme:good", good, "acme:bad", bad));
    }

    @Test
    void appliedAndReplayedRulesMoveTheirFencesAndAnnounceTheirWindows() {
        Settlement settlement = Settlement.of(List.of(fold()), outcomes(new ApplyOutcome(1, 7), new ApplyOutcome(0, 3)), states, poison);
        assertEquals(40, state.fence(good));
        assertEquals(40, state.fence(bad));
        assertEquals(Set.of(new Settlement.Announcement(good, Set.of(T0), 7), new Settlement.Announcement(bad, Set.of(T0), 3)),
            Set.copyOf(settlement.announcements()));
        assertEquals(List.of(), settlement.quarantines());
    }

    @Test
    void aMovedFenceOrFinalityMarkReadsTheBatchAgain() {
        assertThrows(Settlement.ReadAgain.class, () -> Settlement.of(List.of(fold()), outcomes(new ApplyOutcome(1, 1), new ApplyOutcome(-1, 0)), states, poison));
        assertThrows(Settlement.ReadAgain.class, () -> Settlement.of(List.of(fold()), outcomes(new ApplyOutcome(1, 1), new ApplyOutcome(-2, 0)), states, poison));
    }

    @Test
    void aPoisonedRuleIsTriedAgainThenQuarantinedWhileTheOthersAreSettled() {
        ApplyOutcome poisoned = new ApplyOutcome(ApplyOutcome.POISON, 0, "key k holds a value of another type");
        Settlement.ReadAgain first = assertThrows(Settlement.ReadAgain.class,
            () -> Settlement.of(List.of(fold()), outcomes(new ApplyOutcome(1, 1), poisoned), states, poison));
        assertTrue(first.getMessage().contains("try 1 of 2"), first.getMessage());
        assertEquals(40, state.fence(good), "the applied rule is settled although the batch is read again");
        assertEquals(-1, state.fence(bad));
        Settlement second = Settlement.of(List.of(fold()), outcomes(new ApplyOutcome(0, 1), poisoned), states, poison);
        assertEquals(1, second.quarantines().size());
        assertEquals(bad, second.quarantines().getFirst().rule());
        assertEquals("key k holds a value of another type", second.quarantines().getFirst().reason());
        assertEquals(-1, state.fence(bad), "the fence moves only once the dead letters are out");
    }

    @Test
    void theFenceMovesPastThePartsAppliedBeforeARefusedOne() {
        ApplyOutcome poisonedAfterAPart = new ApplyOutcome(ApplyOutcome.POISON, 0, "key k holds a value of another type").after(38);
        assertThrows(Settlement.ReadAgain.class, () -> Settlement.of(List.of(fold()), outcomes(new ApplyOutcome(1, 1), poisonedAfterAPart), states, poison));
        assertEquals(38, state.fence(bad), "retried (or quarantined) from where the applied parts end");
        assertThrows(Settlement.ReadAgain.class,
            () -> Settlement.of(List.of(fold()), outcomes(new ApplyOutcome(1, 1), new ApplyOutcome(-1, 0).after(39)), states, poison));
        assertEquals(39, state.fence(bad));
        assertThrows(Settlement.ReadAgain.class,
            () -> Settlement.of(List.of(fold()), outcomes(new ApplyOutcome(1, 1), new ApplyOutcome(-1, 0).after(20)), states, poison));
        assertEquals(39, state.fence(bad), "a fence never moves back");
    }
}
