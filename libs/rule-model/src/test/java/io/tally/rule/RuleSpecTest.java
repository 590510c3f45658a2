package io.tally.rule;

import io.tally.model.Event;
import io.tally.model.RuleRecord;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RuleSpecTest {

    private static RuleRecord record(List<RuleRecord.Aggregation> aggregations, String lateness, String retention) {
        return new RuleRecord("acme", "r", 3, null, null, List.of("geo", "attributes.team"), aggregations,
            new RuleRecord.Window("PT5M", "PT1M"), lateness, retention);
    }

    @Test
    void fillsInTheContractsDefaults() {
        RuleSpec spec = RuleSpec.of(record(List.of(new RuleRecord.Aggregation("n", "count", null, null),
            new RuleRecord.Aggregation("teams", "topk", "attributes.team", null)), null, null));
        assertEquals(RuleDefaults.LATENESS.toMillis(), spec.latenessMillis());
        assertEquals(RuleDefaults.RETENTION, spec.retention());
        assertEquals(RuleDefaults.TOPK_K, spec.ops().get(1).k());
        assertEquals(Op.TOPK, spec.ops().get(1).kind());
        assertEquals(List.of("geo", "attributes.team"), spec.dimensions());
        assertEquals(300_000, spec.sizeMillis());
        assertEquals(60_000, spec.slideMillis());
    }

    @Test
    void keepsWhatTheRuleSays() {
        RuleSpec spec = RuleSpec.of(record(List.of(new RuleRecord.Aggregation("s", "sum", "value", null)), "PT0S", "PT2H"));
        assertEquals(0, spec.latenessMillis());
        assertEquals(Duration.ofHours(2), spec.retention());
        assertEquals(new FieldRef("value", null), spec.ops().get(0).field());
    }

    @Test
    void refusesARecordItCannotRun() {
        assertThrows(IllegalArgumentException.class, () -> RuleSpec.of(record(List.of(new RuleRecord.Aggregation("s", "sum", null, null)), null, null)));
        assertThrows(IllegalArgumentException.class, () -> RuleSpec.of(record(List.of(new RuleRecord.Aggregation("s", "median", "value", null)), null, null)));
        assertThrows(IllegalArgumentException.class, () -> RuleSpec.of(record(List.of(new RuleRecord.Aggregation("s", "COUNT", null, null)), null, null)),
            "the wire spelling is lower case");
        assertThrows(IllegalArgumentException.class, () -> FieldRef.of("colour"));
    }

    @Test
    void opsKnowWhatTheyRead() {
        assertEquals("count, sum, min, max, avg, rate, distinct or topk", Op.names());
        assertTrue(Op.isOp("topk"));
        assertFalse(Op.isOp("TOPK"));
        assertTrue(Op.AVG.numeric() && Op.AVG.needsField() && !Op.AVG.valued());
        assertTrue(Op.DISTINCT.valued() && Op.DISTINCT.needsField() && !Op.DISTINCT.numeric());
        assertFalse(Op.COUNT.needsField() || Op.RATE.needsField());
    }

    @Test
    void dimensionsAndFieldsAreWhatTheContractNames() {
        assertTrue(Dimensions.isDimension("geo"));
        assertTrue(Dimensions.isDimension("attributes.team"));
        assertFalse(Dimensions.isDimension("value"));
        assertFalse(Dimensions.isDimension("attributes."));
        assertFalse(Dimensions.isDimension("attributes.a b"));
        assertTrue(Dimensions.isField("value"));
        assertTrue(Dimensions.isNumericField("attributes.price"));
        assertFalse(Dimensions.isNumericField("geo"));
    }

    @Test
    void aFieldReadsItsValueFromTheEvent() {
        Event e = new Event("t", "e1", "sports", 0L, null, "US", 2.5, Map.of("team", "red"), null);
        assertEquals("US", FieldRef.of("geo").read(e));
        assertEquals("red", FieldRef.of("attributes.team").read(e));
        assertEquals(2.5, FieldRef.of("value").number(e));
        assertNull(FieldRef.of("attributes.team").number(e));
        assertNull(FieldRef.of("type").read(e));
    }
}
