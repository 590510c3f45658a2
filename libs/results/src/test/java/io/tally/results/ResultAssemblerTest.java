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

    private static Map<String, String> group(String key, Map<String, String> values) {
        Map<String, String> fields = new HashMap<>();
        fields.put(key + SEP, "1");
        values.forEach((k, v) -> fields.put(key + SEP + k, v));
        return fields;
    }

    @Test
    void turnsEachStoredCounterIntoItsContractValue() {
        String us = "[\"US\",2]";
        Map<String, String> fields = group(us, Map.of("n", "40", "revenue", "12.5", "low", "0.5", "high", "9",
            "mean" + SEP + "s", "12.5", "mean" + SEP + "n", "5", "perSec", "40",
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
    void aGroupWithoutValuesYetHasZeroCountsAndNoExtremes() {
        RawWindow window = new RawWindow(0, group("[\"FR\",null]", Map.of()), Map.of());
        Map<String, Object> v = assembler.groups(rule(), window, Map.of()).getFirst().values();
        assertEquals(0L, v.get("n"));
        assertEquals(0.0, v.get("revenue"));
        assertNull(v.get("low"));
        assertNull(v.get("high"));
        assertNull(v.get("mean"), "no average of nothing");
        assertEquals(0.0, v.get("perSec"));
        assertEquals(0L, v.get("users"));
        assertEquals(List.of(), v.get("teams"));
    }

    @Test
    void keepsTheGroupsMatchingTheFilterInKeyOrder() {
        Map<String, String> fields = new HashMap<>();
        fields.putAll(group("[\"US\",2]", Map.of("n", "1")));
        fields.putAll(group("[\"DE\",2]", Map.of("n", "2")));
        fields.putAll(group("[\"US\",3]", Map.of("n", "3")));
        RawWindow window = new RawWindow(0, fields, Map.of());

        assertEquals(List.of(2L, 1L, 3L), assembler.groups(rule(), window, Map.of()).stream().map(g -> g.values().get("n")).toList());
        assertEquals(List.of(1L, 3L), assembler.groups(rule(), window, Map.of("geo", "US")).stream().map(g -> g.values().get("n")).toList());
        assertEquals(List.of(1L), assembler.groups(rule(), window, Map.of("geo", "US", "attributes.tier", "2")).stream()
            .map(g -> g.values().get("n")).toList());
        assertTrue(assembler.groups(rule(), window, Map.of("geo", "JP")).isEmpty());
    }

    @Test
    void comparesFilterValuesAsText() {
        assertTrue(ResultAssembler.matches(Map.of("year", 2024.0), Map.of("year", "2024")));
        assertTrue(ResultAssembler.matches(Map.of("live", true), Map.of("live", "true")));
        assertTrue(ResultAssembler.matches(new HashMap<>(Map.of()), Map.of("geo", "null")), "a missing dimension is null");
        assertTrue(!ResultAssembler.matches(Map.of("geo", "US"), Map.of("geo", "us")));
    }
}
