package io.tally.results;

import io.micronaut.core.type.Argument;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleRecord;
import io.tally.model.StateKeys;
import io.tally.rule.RuleSpec;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResultAssemblerTest {

    private static final String SEP = String.valueOf(StateKeys.SEP);
    private static final ObjectMapper JSON = ObjectMapper.getDefault();

    private static <T> T parse(String text, Argument<T> type) {
        try {
            return JSON.readValue(text, type);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private final ResultAssembler assembler = new ResultAssembler(text -> parse(text, Argument.listOf(Object.class)),
        text -> parse(text, Argument.OBJECT_ARGUMENT));

    private static RuleSpec rule() {
        return RuleSpec.of(new RuleRecord("acme", "r", 1, null, null, List.of("geo", "attributes.tier"), List.of(
            new RuleRecord.Aggregation("n", "count", null, null),
            new RuleRecord.Aggregation("revenue", "sum", "value", null),
            new RuleRecord.Aggregation("low", "min", "value", null),
            new RuleRecord.Aggregation("high", "max", "value", null),
            new RuleRecord.Aggregation("mean", "avg", "value", null),
            new RuleRecord.Aggregation("perSec", "rate", null, null),
            new RuleRecord.Aggregation("users", "distinct", "attributes.user", null),
            new RuleRecord.Aggregation("teams", "topk", "attributes.team", 2)),
            new RuleRecord.Window("PT10S", null), null, null));
    }

    /** A group's stored fields as the writer keeps them: its event count, then the given fields. */
    private static Map<String, String> group(String key, long events, Map<String, String> values) {
        Map<String, String> fields = new HashMap<>();
        fields.put(key + SEP, Long.toString(events));
        values.forEach((k, v) -> fields.put(key + SEP + k, v));
        return fields;
    }

    @Test
    void turnsEachStoredCounterIntoItsContractValue() {
        String us = "[\"US\",2]";
        // The count and the rate are the group's event count; the average's sum is the sum's (StoredFields).
        Map<String, String> fields = group(us, 40, Map.of("revenue", "12.5", "low", "0.5", "high", "9", "mean" + SEP + "n", "5",
            "teams" + SEP + "\"red\"", "7", "teams" + SEP + "\"blue\"", "9", "teams" + SEP + "\"green\"", "7"));
        RawWindow window = new RawWindow(0, fields, Map.of(us + SEP + "users", 31L));

        List<ResultAssembler.Group> groups = assembler.groups(rule(), window, Map.of());

        assertEquals(1, groups.size());
        ResultAssembler.Group g = groups.getFirst();
        assertEquals(Map.of("geo", "US", "attributes.tier", 2), g.group().entrySet().stream()
            .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> e.getValue() instanceof Number n ? n.intValue() : e.getValue())));
        Map<String, Object> v = g.values();
        assertEquals(40L, v.get("n"));
        assertEquals(12.5, v.get("revenue"));
        assertEquals(0.5, v.get("low"));
        assertEquals(9.0, v.get("high"));
        assertEquals(2.5, v.get("mean"));
        assertEquals(4.0, v.get("perSec"), "40 events over a 10 s window");
        assertEquals(31L, v.get("users"));
        assertEquals(List.of(Map.of("value", "blue", "count", 9L), Map.of("value", "green", "count", 7L)), v.get("teams"),
            "the k highest counts, ties by value");
        assertEquals(List.of("n", "revenue", "low", "high", "mean", "perSec", "users", "teams"), List.copyOf(v.keySet()),
            "values in the rule's order");
    }

    @Test
    void aGroupOfEventsWithoutValuesHasZeroSumsAndNoExtremes() {
        RawWindow window = new RawWindow(0, group("[\"FR\",null]", 1, Map.of()), Map.of());
        Map<String, Object> v = assembler.groups(rule(), window, Map.of()).getFirst().values();
        assertEquals(1L, v.get("n"));
        assertEquals(0.0, v.get("revenue"));
        assertNull(v.get("low"));
        assertNull(v.get("high"));
        assertNull(v.get("mean"), "no average of nothing");
        assertEquals(0.1, v.get("perSec"));
        assertEquals(0L, v.get("users"));
        assertEquals(List.of(), v.get("teams"));
    }

    @Test
    void keepsTheGroupsMatchingTheFilterInKeyOrder() {
        Map<String, String> fields = new HashMap<>();
        fields.putAll(group("[\"US\",2]", 1, Map.of()));
        fields.putAll(group("[\"DE\",2]", 2, Map.of()));
        fields.putAll(group("[\"US\",3]", 3, Map.of()));
        RawWindow window = new RawWindow(0, fields, Map.of());

        assertEquals(List.of(2L, 1L, 3L), assembler.groups(rule(), window, Map.of()).stream().map(g -> g.values().get("n")).toList());
        assertEquals(List.of(1L, 3L), assembler.groups(rule(), window, Map.of("geo", "US")).stream().map(g -> g.values().get("n")).toList());
        assertEquals(List.of(1L), assembler.groups(rule(), window, Map.of("geo", "US", "attributes.tier", "2")).stream()
            .map(g -> g.values().get("n")).toList());
        assertTrue(assembler.groups(rule(), window, Map.of("geo", "JP")).isEmpty());
    }

    @Test
    void readsStateWhereEachAggregationKeptItsOwnField() {
        String us = "[\"US\",2]";
        Map<String, String> fields = new HashMap<>();
        Map.of("n", "40", "perSec", "40", "revenue", "12.5", "mean" + SEP + "s", "12.5", "mean" + SEP + "n", "5")
            .forEach((k, v) -> fields.put(us + SEP + k, v));
        Map<String, Object> v = assembler.groups(rule(), new RawWindow(0, fields, Map.of()), Map.of()).getFirst().values();
        assertEquals(40L, v.get("n"), "no event count field: the count's own");
        assertEquals(4.0, v.get("perSec"));
        assertEquals(2.5, v.get("mean"));
    }

    @Test
    void aWindowWrittenBeforeAndAfterTheOwnFieldsStoppedReadsTheSharedOnes() {
        String us = "[\"US\",2]";
        // Own fields written up to an upgrade (40 events, 12.5 of sum over 5 values), the shared ones all along.
        RawWindow window = new RawWindow(0, group(us, 50, Map.of("n", "40", "perSec", "40", "revenue", "20",
            "mean" + SEP + "s", "12.5", "mean" + SEP + "n", "8")), Map.of());
        Map<String, Object> v = assembler.groups(rule(), window, Map.of()).getFirst().values();
        assertEquals(50L, v.get("n"));
        assertEquals(5.0, v.get("perSec"));
        assertEquals(2.5, v.get("mean"), "the sum's 20 over 8 values");
    }

    @Test
    void anAverageWithoutASumOfItsFieldKeepsItsOwnSum() {
        RuleSpec rule = RuleSpec.of(new RuleRecord("acme", "r", 1, null, null, List.of("geo"), List.of(
            new RuleRecord.Aggregation("revenue", "sum", "attributes.price", null),
            new RuleRecord.Aggregation("mean", "avg", "value", null)), new RuleRecord.Window("PT10S", null), null, null));
        RawWindow window = new RawWindow(0, group("[\"US\"]", 4, Map.of("revenue", "100", "mean" + SEP + "s", "6", "mean" + SEP + "n", "4")),
            Map.of());
        assertEquals(1.5, assembler.groups(rule, window, Map.of()).getFirst().values().get("mean"));
    }

    @Test
    void comparesFilterValuesAsText() {
        assertTrue(ResultAssembler.matches(Map.of("year", 2024.0), Map.of("year", "2024")));
        assertTrue(ResultAssembler.matches(Map.of("live", true), Map.of("live", "true")));
        assertTrue(ResultAssembler.matches(new HashMap<>(Map.of()), Map.of("geo", "null")), "a missing dimension is null");
        assertTrue(!ResultAssembler.matches(Map.of("geo", "US"), Map.of("geo", "us")));
    }
}
