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
}
