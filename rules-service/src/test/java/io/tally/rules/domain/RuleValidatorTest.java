package io.tally.rules.domain;

import io.tally.model.RuleRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RuleValidatorTest {

    private static final String VALID = """
        {"name": "Sports by country",
         "filter": {"categories": ["sports"], "types": [], "geos": [], "attributes": {"league": "nba"}},
         "groupBy": ["category", "geo"],
         "aggregations": [
           {"name": "events",  "op": "count"},
           {"name": "revenue", "op": "sum", "field": "value"},
           {"name": "perSec",  "op": "rate"},
           {"name": "users",   "op": "distinct", "field": "attributes.user"},
           {"name": "teams",   "op": "topk", "field": "attributes.team", "k": 3}],
         "window": {"size": "PT1M", "slide": "PT10S"},
         "allowedLateness": "PT30S",
         "retention": "PT24H"}""";

    private static RuleValidator.Result validate(String json) throws Exception {
        return RuleValidator.validate(JsonTree.parse(json.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void acceptsTheContractsExampleAsWritten() throws Exception {
        RuleValidator.Result result = validate(VALID);
        assertTrue(result.valid(), result.violations().toString());
        assertEquals(List.of("category", "geo"), result.definition().groupBy());
        assertEquals(3, result.definition().aggregations().get(4).k());
        assertEquals("PT10S", result.definition().window().slide());
    }

    @Test
    void fillsDefaultsForLatenessRetentionFilterGroupsAndTopK() throws Exception {
        RuleValidator.Result result = validate("""
            {"aggregations": [{"name": "n", "op": "count"}, {"name": "top", "op": "topk", "field": "category"}], "window": {"size": "PT1M"}}""");
        assertTrue(result.valid(), result.violations().toString());
        RuleDefinition d = result.definition();
        assertEquals("PT5S", d.allowedLateness());
        assertEquals("PT24H", d.retention());
        assertEquals(List.of(), d.groupBy());
        assertEquals(List.of(), d.filter().categories());
        assertEquals(Map.of(), d.filter().attributes());
        assertEquals(10, d.aggregations().get(1).k());
        assertEquals(1, d.shards());
    }

    @Test
    void takesShardsFrom1To16() throws Exception {
        String rule = """
            {"aggregations": [{"name": "n", "op": "count"}], "window": {"size": "PT1M"}, "groupBy": ["category"], "shards": %s}""";
        assertEquals(4, validate(rule.formatted("4")).definition().shards());
        assertEquals(16, validate(rule.formatted("16.0")).definition().shards());
        assertEquals(4, validate(rule.formatted("4")).definition().toRecord("t", "r", 1).shards());
        for (String bad : List.of("0", "17", "2.5", "\"3\"", "-1", "1e400", "null")) {
            RuleValidator.Result result = validate(rule.formatted(bad));
            if (bad.equals("null")) {
                assertEquals(1, result.definition().shards(), "null is left out: the default");
                continue;
            }
            assertFalse(result.valid(), bad);
            assertEquals("/shards", result.violations().getFirst().pointer(), bad);
        }
    }

    @Test
    void takesABackfillUpToTheRetentionAndIgnoresTheProgressAGetShowed() throws Exception {
        String rule = """
            {"aggregations": [{"name": "n", "op": "count"}], "window": {"size": "PT1M"}, "retention": "PT6H", "backfill": %s}""";
        assertEquals("PT6H", validate(rule.formatted("\"PT6H\"")).backfill());
        assertEquals("PT1S", validate(rule.formatted("\"PT1S\"")).backfill());
        assertNull(validate(rule.formatted("{\"eventsRead\": 12, \"position\": \"2026-12-07T10:00:00Z\"}")).backfill(), "GET → PUT");
        assertNull(validate(rule.formatted("null")).backfill());
        for (String bad : List.of("\"PT0S\"", "\"PT7H\"", "\"P8D\"", "\"six hours\"", "6", "true", "[]", "\"-PT1H\"")) {
            RuleValidator.Result result = validate(rule.formatted(bad));
            assertFalse(result.valid(), bad);
            assertEquals("/backfill", result.violations().getFirst().pointer(), bad);
        }
        assertTrue(validate(rule.formatted("\"PT7H\"")).violations().getFirst().message().contains("retention (PT6H)"));
    }

    @Test
    void takesARollupOfAMultipleOfTumblingWindowsKeptAtMostNinetyDays() throws Exception {
        String rule = """
            {"aggregations": [{"name": "n", "op": "count"}], "window": %s, "rollup": %s}""";
        RuleDefinition d = validate(rule.formatted("{\"size\": \"PT1M\"}", "{\"resolution\": \"PT1H\"}")).definition();
        assertEquals(new RuleRecord.Rollup("PT1H", "P30D"), d.rollup(), "retention defaults to P30D");
        assertEquals(new RuleRecord.Rollup("PT1H", "P30D"), d.toRecord("t", "r", 1).rollup());
        assertTrue(d.worstCaseStateBytes(10) > new RuleDefinition(d.name(), d.filter(), d.groupBy(), d.aggregations(), d.window(),
            d.allowedLateness(), d.retention(), d.shards()).worstCaseStateBytes(10), "the rollup's windows count in the state quota");
        record Bad(String window, String rollup, String pointer) {
        }
        for (Bad bad : List.of(
            new Bad("{\"size\": \"PT1M\"}", "\"PT1H\"", "/rollup"),
            new Bad("{\"size\": \"PT1M\"}", "{}", "/rollup/resolution"),
            new Bad("{\"size\": \"PT1M\"}", "{\"resolution\": \"PT90S\"}", "/rollup/resolution"),
            new Bad("{\"size\": \"PT1M\"}", "{\"resolution\": \"PT1M\"}", "/rollup/resolution"),
            new Bad("{\"size\": \"PT1M\"}", "{\"resolution\": \"P8D\"}", "/rollup/resolution"),
            new Bad("{\"size\": \"PT1M\"}", "{\"resolution\": \"PT1H\", \"retention\": \"PT30M\"}", "/rollup/retention"),
            new Bad("{\"size\": \"PT1M\"}", "{\"resolution\": \"PT1H\", \"retention\": \"P91D\"}", "/rollup/retention"),
            new Bad("{\"size\": \"PT1M\"}", "{\"resolution\": \"PT1H\", \"colour\": 1}", "/rollup/colour"),
            new Bad("{\"size\": \"PT1M\", \"slide\": \"PT10S\"}", "{\"resolution\": \"PT1H\"}", "/rollup"))) {
            RuleValidator.Result result = validate(rule.formatted(bad.window(), bad.rollup()));
            assertFalse(result.valid(), bad.toString());
            assertEquals(bad.pointer(), result.violations().getFirst().pointer(), bad.toString());
        }
    }

    @Test
    void namesEveryProblemAtOnce() throws Exception {
        RuleValidator.Result result = validate("""
            {"name": 7, "colour": "red",
             "filter": {"categories": "sports", "attributes": {"bad key!": 1, "nested": {"a": 1}}, "teams": []},
             "groupBy": ["category", "category", "city", "geo"],
             "aggregations": [{"name": "1st", "op": "count"}, {"name": "s", "op": "sum"}, {"name": "s", "op": "median"},
                              {"name": "t", "op": "topk", "field": "attributes.team", "k": 0}, {"name": "c", "op": "count", "field": "value"},
                              {"name": "m", "op": "max", "field": "category"}, {"name": "x", "op": "count", "k": 3, "extra": true}],
             "window": {"size": "PT1M", "slide": "PT7S", "align": "hour"},
             "allowedLateness": "PT2H",
             "retention": "1 day"}""");
        Map<String, String> problems = new java.util.TreeMap<>();
        result.violations().forEach(v -> problems.merge(v.pointer(), v.message(), (a, b) -> a + " | " + b));
        assertEquals(List.of("/aggregations/0/name", "/aggregations/1/field", "/aggregations/2/name", "/aggregations/2/op",
            "/aggregations/3/k", "/aggregations/4/field", "/aggregations/5/field", "/aggregations/6/extra", "/aggregations/6/k",
            "/allowedLateness", "/colour", "/filter/attributes/bad key!", "/filter/attributes/nested", "/filter/categories",
            "/filter/teams", "/groupBy", "/groupBy/1", "/groupBy/2", "/name", "/retention", "/window/align", "/window/slide"),
            List.copyOf(problems.keySet()), problems.toString());
        assertTrue(problems.get("/window/slide").contains("divide"), problems.get("/window/slide"));
        assertTrue(problems.get("/aggregations/2/op").contains("count, sum"), problems.get("/aggregations/2/op"));
    }

    @ParameterizedTest(name = "{0} → {1}")
    @CsvSource(delimiter = '|', value = {
        "{\"aggregations\": [], \"window\": {\"size\": \"PT1M\"}}                                  | /aggregations",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"count\"}]}                                    | /window",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"count\"}], \"window\": {}}                    | /window/size",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"count\"}], \"window\": {\"size\": \"PT0.5S\"}} | /window/size",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"count\"}], \"window\": {\"size\": \"P2D\"}}    | /window/size",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"count\"}], \"window\": {\"size\": \"PT1M\", \"slide\": \"PT2M\"}} | /window/slide",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"count\"}], \"window\": {\"size\": \"P1D\", \"slide\": \"PT1S\"}}  | /window/slide",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"count\"}], \"window\": {\"size\": \"PT1H\"}, \"retention\": \"PT30M\"} | /retention",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"count\"}], \"window\": {\"size\": \"PT1H\"}, \"retention\": \"P8D\"}   | /retention",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"count\"}], \"window\": {\"size\": \"PT1H\"}, \"allowedLateness\": \"-PT1S\"} | /allowedLateness",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"avg\", \"field\": \"attributes.\"}], \"window\": {\"size\": \"PT1H\"}} | /aggregations/0/field",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"topk\", \"field\": \"geo\", \"k\": 101}], \"window\": {\"size\": \"PT1H\"}} | /aggregations/0/k",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"topk\", \"field\": \"geo\", \"k\": 2.5}], \"window\": {\"size\": \"PT1H\"}} | /aggregations/0/k",
        "{\"aggregations\": [{\"name\": \"n\", \"op\": \"count\"}], \"window\": {\"size\": \"PT1H\"}, \"groupBy\": [\"a\", \"b\", \"c\", \"d\"]} | /groupBy/0",
        "[1, 2]                                                                                  | ''",
    })
    void rejectsWithThePointerToTheProblem(String json, String pointer) throws Exception {
        RuleValidator.Result result = validate(json);
        assertTrue(result.violations().stream().anyMatch(v -> v.pointer().equals(pointer)), result.violations().toString());
    }

    @Test
    void acceptsGetResponseFieldsBackInAPut() throws Exception {
        RuleValidator.Result result = validate("""
            {"id": "x", "version": 3, "status": "active", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
             "aggregations": [{"name": "n", "op": "count"}], "window": {"size": "PT1M"}}""");
        assertTrue(result.valid(), result.violations().toString());
    }
}
