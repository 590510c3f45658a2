package io.tally.query.api;

import io.tally.model.RuleRecord;
import io.tally.problem.FieldError;
import io.tally.problem.ProblemException;
import io.tally.rule.RuleSpec;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QueryChecksTest {

    private static final long NOW = Instant.parse("2026-12-07T10:00:30Z").toEpochMilli();
    private static final RuleSpec RULE = RuleSpec.of(new RuleRecord("acme", "r", 1, "r", null, List.of("category"), List.of(
        new RuleRecord.Aggregation("n", "count", null, null), new RuleRecord.Aggregation("t", "topk", "attributes.team", 3)),
        new RuleRecord.Window("PT1M", null), "PT5S", "PT24H"));

    private static List<String> pointers(Runnable call) {
        ProblemException refused = assertThrows(ProblemException.class, call::run);
        return refused.errors().stream().map(FieldError::pointer).toList();
    }

    @Test
    void byDefaultTheLastTenWindowsUpToNow() {
        QueryChecks.Range range = QueryChecks.range(RULE, null, null, Set.of(), NOW);
        assertEquals(NOW, range.to());
        assertEquals(NOW - 600_000, range.from());
        assertEquals(11, range.starts().size(), "ten windows back and the one now open: " + range.starts());
        assertEquals(Instant.parse("2026-12-07T10:00:00Z").toEpochMilli(), range.starts().getLast());
    }

    @Test
    void anExplicitRangeReadsTheWindowsOverlappingIt() {
        QueryChecks.Range range = QueryChecks.range(RULE, "2026-12-07T09:00:00Z", "2026-12-07T09:03:00+00:00", Set.of("category"), NOW);
        assertEquals(3, range.starts().size());
    }

    @Test
    void everyProblemIsReportedAtOnceWithItsPointer() {
        assertEquals(List.of("/to", "/from", "/group.geo"), pointers(() -> QueryChecks.range(RULE, "yesterday", "2026-12-07", Set.of("geo"), NOW)));
        assertEquals(List.of("/from"), pointers(() -> QueryChecks.range(RULE, "2026-12-07T10:00:00Z", "2026-12-07T09:00:00Z", Set.of(), NOW)));
        assertEquals(List.of("/from"), pointers(() -> QueryChecks.range(RULE, "0000-12-31T23:00:00Z", null, Set.of(), NOW)),
            "before the year 1: out of range");
    }

    @Test
    void aRangeOfTooManyWindowsIsRefusedBeforeAnyIsListed() {
        ProblemException refused = assertThrows(ProblemException.class,
            () -> QueryChecks.range(RULE, "0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z", Set.of(), NOW));
        assertTrue(refused.getMessage().contains("at most " + QueryChecks.MAX_WINDOWS), refused.getMessage());
        assertEquals(QueryChecks.MAX_WINDOWS, QueryChecks.range(RULE, "2026-12-01T00:00:00Z", "2026-12-02T09:20:00Z", Set.of(), NOW).starts().size());
    }

    @Test
    void topNeedsACountableMetricAKInRangeAndAWindowStart() {
        QueryChecks.Top top = QueryChecks.top(RULE, "n", null, null);
        assertEquals(10, top.limit());
        assertNull(top.window());
        assertEquals(Instant.parse("2026-12-07T09:59:00Z").toEpochMilli(), QueryChecks.top(RULE, "n", 3, "2026-12-07T09:59:00Z").window());
        assertEquals(List.of("/metric"), pointers(() -> QueryChecks.top(RULE, null, 5, null)));
        assertEquals(List.of("/metric"), pointers(() -> QueryChecks.top(RULE, "nope", 5, null)));
        assertEquals(List.of("/metric", "/k"), pointers(() -> QueryChecks.top(RULE, "t", 0, null)), "a topk list cannot rank groups");
        assertEquals(List.of("/k"), pointers(() -> QueryChecks.top(RULE, "n", 101, null)));
        assertEquals(List.of("/window"), pointers(() -> QueryChecks.top(RULE, "n", 5, "2026-12-07T09:59:30Z")), "not a window start");
    }
}
