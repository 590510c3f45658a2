package io.tally.fold;

import io.tally.model.RuleFailure;
import io.tally.model.RuleRecord;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActiveRulesTest {

    private static RuleRecord rule(int version, String size) {
        return new RuleRecord("acme", "r", version, "r", null, List.of(), List.of(new RuleRecord.Aggregation("n", "count", null, null)),
            new RuleRecord.Window(size, null), "PT5S", "PT24H");
    }

    @Test
    void aVersionThatCannotRunIsReportedAndThePreviousOneKeepsRunning() {
        ActiveRules rules = new ActiveRules();
        rules.apply("acme", "r", rule(1, "PT1M"));
        rules.apply("acme", "r", rule(2, "one minute"));
        assertEquals(1, rules.of("acme").getFirst().version());
        List<RuleFailure> failures = rules.failures();
        assertEquals(1, failures.size());
        assertEquals(2, failures.getFirst().version());
        assertTrue(failures.getFirst().reason().startsWith("the aggregation cannot run this version"), failures.getFirst().reason());
    }

    @Test
    void aLaterVersionThatRunsOrADeleteClearsTheFailure() {
        ActiveRules rules = new ActiveRules();
        rules.apply("acme", "r", rule(1, "one minute"));
        rules.apply("acme", "r", rule(2, "PT1M"));
        assertEquals(List.of(), rules.failures());
        rules.apply("acme", "r", rule(3, "one minute"));
        rules.apply("acme", "r", null);
        assertEquals(List.of(), rules.failures());
        assertEquals(List.of(), rules.of("acme"));
    }

    private static RuleRecord backfilling(int version, RuleRecord previous, String state) {
        RuleRecord r = rule(version, "PT1M");
        return new RuleRecord(r.tenant(), r.id(), version, r.name(), r.filter(), r.groupBy(), r.aggregations(), r.window(), r.allowedLateness(),
            r.retention(), null, new RuleRecord.Backfill("PT1H", "2026-12-07T10:00:00Z", state, null), previous);
    }

    @Test
    void aVersionBeingBackfilledRunsBesideTheServingOneAsAShadowWithStateOfItsOwn() {
        ActiveRules rules = new ActiveRules();
        rules.apply("acme", "r", rule(1, "PT1M"));
        assertTrue(!rules.anyShadow());
        rules.apply("acme", "r", backfilling(2, rule(1, "PT1M"), RuleRecord.Backfill.RUNNING));
        List<CompiledRule> running = rules.of("acme");
        assertEquals(List.of(1, 2), running.stream().map(CompiledRule::version).toList());
        assertEquals(List.of(false, true), running.stream().map(CompiledRule::shadow).toList());
        assertEquals(List.of("acme:r", "acme:r@2"), running.stream().map(CompiledRule::key).toList(), "the shadow's fences and marks are its own");
        assertTrue(rules.anyShadow());
        assertEquals(List.of("acme:r@2"), rules.shadows().stream().map(CompiledRule::key).toList());

        // Switched over: only version 2 runs, still under its own state id, no longer a shadow.
        rules.apply("acme", "r", backfilling(2, null, RuleRecord.Backfill.DONE));
        assertEquals(List.of("acme:r@2"), rules.of("acme").stream().map(CompiledRule::key).toList());
        assertTrue(!rules.of("acme").getFirst().shadow());
        assertTrue(!rules.anyShadow());
    }

    @Test
    void afterAFailedBackfillOnlyTheVersionBeforeRunsAndANewRuleRunsNothing() {
        ActiveRules rules = new ActiveRules();
        rules.apply("acme", "r", backfilling(2, rule(1, "PT1M"), RuleRecord.Backfill.FAILED));
        assertEquals(List.of("acme:r"), rules.of("acme").stream().map(CompiledRule::key).toList());
        assertEquals(1, rules.of("acme").getFirst().version());
        rules.apply("acme", "n", new RuleRecord("acme", "n", 1, "n", null, List.of(), List.of(new RuleRecord.Aggregation("n", "count", null, null)),
            new RuleRecord.Window("PT1M", null), "PT5S", "PT24H", null, new RuleRecord.Backfill("PT1H", "2026-12-07T10:00:00Z",
            RuleRecord.Backfill.FAILED, "why"), null));
        assertEquals(List.of("acme:r"), rules.of("acme").stream().map(CompiledRule::key).toList(), "a new rule whose backfill failed runs nothing");
    }
}
