package io.tally.results;

import io.lettuce.core.cluster.SlotHash;
import io.tally.model.RuleRecord;
import io.tally.model.StateKeys;
import io.tally.rule.RuleSpec;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RuleShardsTest {

    private static final char SEP = StateKeys.SEP;

    @Test
    void theFirstShardKeepsTheRulesOwnTagAndTheOthersSpreadOverTheSlotSpace() {
        assertEquals(StateKeys.ruleTag("acme", "r1"), RuleShards.tag("acme", "r1", 0, 3));
        for (int rule = 0; rule < 200; rule++) {
            String id = "rule-" + rule;
            List<String> tags = RuleShards.tags("acme", id, 3);
            // Three masters with the slots split evenly (0-5460, 5461-10922, 10923-16383): one shard on each.
            Set<Integer> masters = new HashSet<>();
            for (String tag : tags) {
                int slot = SlotHash.getSlot(StateKeys.fence(tag));
                masters.add(slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2);
                assertEquals(slot, SlotHash.getSlot(StateKeys.window(tag, 1, 0)), "every key of a shard is on its slot");
            }
            assertEquals(3, masters.size(), id + " " + tags);
            assertEquals(3, new HashSet<>(tags).size());
        }
        assertThrows(IllegalArgumentException.class, () -> RuleShards.tag("acme", "r", 3, 3));
    }

    private static RuleSpec spec() {
        return RuleSpec.of(new RuleRecord("acme", "r", 1, "r", null, List.of("category"), List.of(
            new RuleRecord.Aggregation("n", "count", null, null), new RuleRecord.Aggregation("s", "sum", "value", null),
            new RuleRecord.Aggregation("lo", "min", "value", null), new RuleRecord.Aggregation("hi", "max", "value", null),
            new RuleRecord.Aggregation("a", "avg", "value", null), new RuleRecord.Aggregation("t", "topk", "geo", 3),
            new RuleRecord.Aggregation("d", "distinct", "geo", null)), new RuleRecord.Window("PT1M", null), "PT5S", "PT24H", 2));
    }

    private static Map<String, String> fields(String... namesAndValues) {
        Map<String, String> fields = new HashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            fields.put(namesAndValues[i], namesAndValues[i + 1]);
        }
        return fields;
    }

    @Test
    void windowsOfTwoShardsMergeAsTheAggregationsCombine() {
        String other = "[\"__other__\"]";
        RawWindow a = new RawWindow(0, fields("[\"x\"]" + SEP, "2", "[\"x\"]" + SEP + "n", "2", SEP + "g", "2",
            other + SEP, "3", other + SEP + "n", "3", other + SEP + "s", "1.5", other + SEP + "lo", "-2", other + SEP + "hi", "7",
            other + SEP + "a" + SEP + "s", "4.5", other + SEP + "a" + SEP + "n", "3", other + SEP + "t" + SEP + "\"US\"", "2"),
            Map.of(other + SEP + "d", 2L, RawWindow.OVERFLOW, 5L));
        RawWindow b = new RawWindow(0, fields("[\"y\"]" + SEP, "1", "[\"y\"]" + SEP + "n", "1", SEP + "g", "2",
            other + SEP, "1", other + SEP + "n", "1", other + SEP + "s", "2", other + SEP + "lo", "1", other + SEP + "hi", "9.5",
            other + SEP + "a" + SEP + "s", "1", other + SEP + "a" + SEP + "n", "1", other + SEP + "t" + SEP + "\"US\"", "1"),
            Map.of(other + SEP + "d", 1L, RawWindow.OVERFLOW, 4L));
        RawWindow merged = a.merge(b, spec());
        assertEquals("2", merged.fields().get("[\"x\"]" + SEP + "n"));
        assertEquals("1", merged.fields().get("[\"y\"]" + SEP + "n"));
        assertEquals("4", merged.fields().get(SEP + "g"));
        assertEquals("4", merged.fields().get(other + SEP + "n"));
        assertEquals(3.5, Double.parseDouble(merged.fields().get(other + SEP + "s")));
        assertEquals("-2", merged.fields().get(other + SEP + "lo"));
        assertEquals("9.5", merged.fields().get(other + SEP + "hi"));
        assertEquals(5.5, Double.parseDouble(merged.fields().get(other + SEP + "a" + SEP + "s")));
        assertEquals("4", merged.fields().get(other + SEP + "a" + SEP + "n"));
        assertEquals("3", merged.fields().get(other + SEP + "t" + SEP + "\"US\""));
        assertEquals(3L, merged.distinct().get(other + SEP + "d"));
        assertEquals(9L, merged.overflowGroups());
    }

    @Test
    void aSumPastTheFiniteDoublesIsHeldAtTheLargest() {
        String field = "[\"x\"]" + SEP + "s";
        RawWindow a = new RawWindow(0, Map.of(field, "1.7976931348623157E308"), Map.of());
        RawWindow b = new RawWindow(0, Map.of(field, "1.7976931348623157E308"), Map.of());
        assertEquals(Double.MAX_VALUE, Double.parseDouble(a.merge(b, spec()).fields().get(field)));
    }
}
