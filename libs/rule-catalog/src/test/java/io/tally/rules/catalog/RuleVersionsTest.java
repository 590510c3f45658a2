package io.tally.rules.catalog;

import io.tally.model.RuleRecord;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class RuleVersionsTest {

    private final RuleVersions versions = new RuleVersions();

    private static RuleRecord rule(String id, int version) {
        return new RuleRecord("acme", id, version, id, null, List.of(), List.of(new RuleRecord.Aggregation("n", "count", null, null)),
            new RuleRecord.Window("PT1M", null), null, null);
    }

    @Test
    void theNewestVersionWinsAndARepeatedOrOlderOneChangesNothing() {
        assertEquals(new RuleCatalog.Change("acme", "r", rule("r", 1)), versions.put("acme", "r", rule("r", 1)));
        assertEquals(2, versions.put("acme", "r", rule("r", 2)).rule().version());
        assertNull(versions.put("acme", "r", rule("r", 2)), "the relay sent the row twice");
        assertNull(versions.put("acme", "r", rule("r", 1)), "an older version arrives late");
        assertEquals(2, versions.get("acme", "r").version());
        assertEquals(1, versions.size());
    }

    @Test
    void aTombstoneDeletesAndKeepsOlderVersionsFromComingBack() {
        versions.put("acme", "r", rule("r", 3));
        assertEquals(new RuleCatalog.Change("acme", "r", null), versions.delete("acme", "r", 3));
        assertNull(versions.get("acme", "r"));
        assertNull(versions.put("acme", "r", rule("r", 3)), "a re-sent version from before the delete");
        assertNull(versions.put("acme", "r", rule("r", 2)));
        assertNull(versions.get("acme", "r"));
        assertEquals(4, versions.put("acme", "r", rule("r", 4)).rule().version(), "a newer version is the rule created again");
    }

    @Test
    void aTombstoneOfUnknownVersionDeletesEveryVersionAndOneForNothingHeldSaysNothing() {
        assertNull(versions.delete("acme", "never", 5), "nothing was held: no change to announce");
        assertNull(versions.put("acme", "never", rule("never", 5)));
        versions.put("acme", "r", rule("r", 7));
        assertEquals(new RuleCatalog.Change("acme", "r", null), versions.delete("acme", "r", Integer.MAX_VALUE));
        assertNull(versions.put("acme", "r", rule("r", 8)), "without the deleted version, no later version revives it");
        assertEquals(0, versions.all().size());
    }

    @Test
    void tenantsAreKeptApart() {
        versions.put("acme", "r", rule("r", 1));
        assertNull(versions.get("other", "r"));
        versions.delete("other", "r", 1);
        assertEquals(1, versions.get("acme", "r").version());
    }

    private static RuleRecord backfilled(int version, String state, RuleRecord previous) {
        RuleRecord r = rule("r", version);
        return new RuleRecord(r.tenant(), r.id(), version, r.name(), r.filter(), r.groupBy(), r.aggregations(), r.window(), r.allowedLateness(),
            r.retention(), null, new RuleRecord.Backfill("PT1H", "2026-12-07T10:00:00Z", state, null), previous);
    }

    @Test
    void aBackfilledVersionComesTwiceAndTheRecordThatEndsItsBackfillWinsOverTheOneThatStartedIt() {
        versions.put("acme", "r", rule("r", 1));
        RuleCatalog.Change started = versions.put("acme", "r", backfilled(2, RuleRecord.Backfill.RUNNING, rule("r", 1)));
        assertEquals(1, started.rule().serving().version(), "version 1 serves while version 2 is backfilled");
        assertEquals("r@2", started.rule().stateId());
        RuleCatalog.Change done = versions.put("acme", "r", backfilled(2, RuleRecord.Backfill.DONE, null));
        assertEquals(2, done.rule().serving().version());
        assertEquals("r@2", done.rule().serving().stateId(), "version 2 serves from the state its backfill built");
        assertNull(versions.put("acme", "r", backfilled(2, RuleRecord.Backfill.RUNNING, rule("r", 1))), "the first record re-sent: the switch holds");
        assertNull(versions.put("acme", "r", backfilled(2, RuleRecord.Backfill.DONE, null)), "the second re-sent");
        assertEquals(3, versions.put("acme", "r", rule("r", 3)).rule().serving().version());
    }

    @Test
    void aNewRuleServesAnEmptyVersionZeroUntilItsBackfillSwitchesOver() {
        RuleRecord record = backfilled(1, RuleRecord.Backfill.RUNNING, null);
        assertEquals(0, record.serving().version());
        assertEquals("r", record.serving().stateId());
        assertEquals(0, backfilled(1, RuleRecord.Backfill.FAILED, null).serving().version(), "a failed one serves nothing either");
        assertEquals(1, backfilled(1, RuleRecord.Backfill.DONE, null).serving().version());
    }
}
