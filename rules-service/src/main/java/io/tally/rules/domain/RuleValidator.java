package io.tally.rules.domain;

import io.tally.model.JsonPointer;
import io.tally.model.RuleRecord;
import io.tally.rule.Dimensions;
import io.tally.rule.Op;
import io.tally.rule.RuleDefaults;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Validates a rule body against the contract (API.md, "Rules") and names every problem at once, each with
 * its JSON pointer. Read-only fields a client got from a GET ({@code id}, {@code version}, {@code status},
 * {@code createdAt}, {@code updatedAt}, {@code deadLetters}, and {@code backfill} as the progress object a GET shows) are
 * accepted and ignored so that GET → edit → PUT works.
 */
public final class RuleValidator {

    /** A validated definition, or the problems that prevent one. */
    public record Result(RuleDefinition definition, List<Violation> violations, String backfill) {

        public Result(RuleDefinition definition, List<Violation> violations) {
            this(definition, violations, null);
        }

        public boolean valid() {
            return violations.isEmpty();
        }
    }

    public static final int MAX_AGGREGATIONS = 16;
    public static final int MAX_GROUP_BY = 3;
    public static final int MAX_FILTER_VALUES = 100;
    /** An event joins size/slide windows; more than this per event would make one rule cost more than all others. */
    public static final int MAX_WINDOWS_PER_EVENT = 1440;
    static final Duration MIN_SIZE = Duration.ofSeconds(1);
    static final Duration MAX_SIZE = Duration.ofDays(1);
    static final Duration MAX_LATENESS = Duration.ofHours(1);
    static final Duration MAX_RETENTION = Duration.ofDays(7);
    static final String DEFAULT_LATENESS = RuleDefaults.LATENESS.toString();
    static final String DEFAULT_RETENTION = RuleDefaults.RETENTION.toString();

    private static final Pattern AGG_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,39}");
    private static final Set<String> FIELDS = Set.of("name", "filter", "groupBy", "aggregations", "window", "allowedLateness", "retention",
        "shards", "backfill", "rollup", "id", "version", "status", "reason", "createdAt", "updatedAt", "deadLetters");
    private static final Set<String> FILTER_FIELDS = Set.of("categories", "types", "geos", "attributes");
    private static final Set<String> AGG_FIELDS = Set.of("name", "op", "field", "k");
    private static final Set<String> WINDOW_FIELDS = Set.of("size", "slide");
    private static final Map<String, Integer> FILTER_VALUE_LENGTH = Map.of("categories", 100, "types", 100, "geos", 64);

    private RuleValidator() {
    }

    public static Result validate(Object body) {
        List<Violation> violations = new ArrayList<>();
        Checks checks = new Checks(violations);
        Map<String, Object> rule = checks.object(body, "", "the rule");
        if (rule == null) {
            return new Result(null, violations);
        }
        checks.onlyKnown(rule, "", FIELDS);
        String name = rule.get("name") == null ? null : checks.string(rule.get("name"), "/name", 200);
        RuleRecord.Filter filter = filter(checks, rule.get("filter"));
        List<String> groupBy = groupBy(checks, rule.get("groupBy"));
        List<RuleRecord.Aggregation> aggregations = aggregations(checks, rule.get("aggregations"));
        Durations windowSizes = new Durations();
        RuleRecord.Window window = window(checks, rule.get("window"), windowSizes);
        String lateness = duration(checks, rule.get("allowedLateness"), "/allowedLateness", DEFAULT_LATENESS, Duration.ZERO, MAX_LATENESS,
            "PT0S", "PT1H");
        String retention = duration(checks, rule.get("retention"), "/retention", DEFAULT_RETENTION, Duration.ofMillis(1), MAX_RETENTION,
            "the window size", "P7D");
        if (retention != null && windowSizes.size != null && Duration.parse(retention).compareTo(windowSizes.size) < 0) {
            checks.add("/retention", "must be at least the window size (" + window.size() + ")");
        }
        Integer shards = shards(checks, rule.get("shards"));
        String backfill = backfill(checks, rule.get("backfill"), retention);
        RuleRecord.Rollup rollup = rollup(checks, rule.get("rollup"), window, windowSizes.size);
        if (!checks.ok()) {
            return new Result(null, violations);
        }
        return new Result(new RuleDefinition(name, filter, groupBy, aggregations, window, lateness, retention, shards, rollup), List.of(),
            backfill);
    }

    private static final Set<String> ROLLUP_FIELDS = Set.of("resolution", "retention");
    static final Duration MAX_ROLLUP_RESOLUTION = Duration.ofDays(7);
    static final Duration MAX_ROLLUP_RETENTION = Duration.ofDays(90);

    /**
     * A coarser tier kept longer ({@code {"resolution": "PT1H", "retention": "P30D"}}): the resolution a multiple of the
     * window size above it, at most P7D; the retention at least the resolution, at most P90D, default P30D. Tumbling
     * windows only: hopping windows overlap, and adding them up would count an event several times.
     */
    private static RuleRecord.Rollup rollup(Checks checks, Object value, RuleRecord.Window window, Duration size) {
        if (value == null) {
            return null;
        }
        Map<String, Object> rollup = checks.object(value, "/rollup", "the rollup");
        if (rollup == null) {
            return null;
        }
        checks.onlyKnown(rollup, "/rollup", ROLLUP_FIELDS);
        if (window != null && window.slide() != null && !Duration.parse(window.slide()).equals(size)) {
            checks.add("/rollup", "needs tumbling windows (no slide): hopping windows overlap, and adding them up would count events twice");
            return null;
        }
        if (rollup.get("resolution") == null) {
            checks.add("/rollup/resolution", "required: the rollup's window size, a multiple of the rule's, such as \"PT1H\"");
            return null;
        }
        String resolution = duration(checks, rollup.get("resolution"), "/rollup/resolution", null, Duration.ofMillis(1), MAX_ROLLUP_RESOLUTION,
            "above the window size", "P7D");
        String retention = duration(checks, rollup.get("retention"), "/rollup/retention", "P30D", Duration.ofMillis(1), MAX_ROLLUP_RETENTION,
            "the resolution", "P90D");
        if (resolution == null || size == null) {
            return null;
        }
        Duration r = Duration.parse(resolution);
        if (r.compareTo(size) <= 0 || r.toMillis() % size.toMillis() != 0) {
            checks.add("/rollup/resolution", "must be a multiple of the window size (" + window.size() + ") above it, such as "
                + size.multipliedBy(60));
            return null;
        }
        if (retention != null && Duration.parse(retention).compareTo(r) < 0) {
            checks.add("/rollup/retention", "must be at least the resolution (" + resolution + ")");
            return null;
        }
        return retention == null ? null : new RuleRecord.Rollup(resolution, retention);
    }

    /** The longest backfill: what {@code tally.events} retains. */
    static final Duration MAX_BACKFILL = Duration.ofDays(7);

    /**
     * How much of the retained events the new version first counts ({@code "backfill": "PT6H"}): PT1S..P7D and at most the
     * rule's retention (older windows would be gone at once). An object there is the progress a GET showed, sent back with
     * the rule: ignored, like the other read-only fields.
     */
    private static String backfill(Checks checks, Object value, String retention) {
        if (value == null || value instanceof Map<?, ?>) {
            return null;
        }
        String span = duration(checks, value, "/backfill", null, Duration.ofSeconds(1), MAX_BACKFILL, "PT1S", "P7D (what the event log retains)");
        if (span != null && retention != null && Duration.parse(span).compareTo(Duration.parse(retention)) > 0) {
            checks.add("/backfill", "must be at most the rule's retention (" + retention + "): windows older than that are not kept");
            return null;
        }
        return span;
    }

    /** Over how many Redis hash slots the rule's groups are spread: 1..16, default 1. */
    private static Integer shards(Checks checks, Object value) {
        if (value == null) {
            return RuleDefaults.SHARDS;
        }
        if (!(value instanceof BigDecimal n) || n.stripTrailingZeros().scale() > 0 || n.compareTo(BigDecimal.ONE) < 0
            || n.compareTo(BigDecimal.valueOf(RuleDefaults.MAX_SHARDS)) > 0) {
            checks.add("/shards", "must be a whole number 1.." + RuleDefaults.MAX_SHARDS
                + " (how many Redis hash slots the rule's groups are spread over; more for a rule too busy for one Redis master)");
            return null;
        }
        return n.intValue();
    }

    private static RuleRecord.Filter filter(Checks checks, Object value) {
        if (value == null) {
            return new RuleRecord.Filter(List.of(), List.of(), List.of(), Map.of());
        }
        Map<String, Object> filter = checks.object(value, "/filter", "filter");
        if (filter == null) {
            return null;
        }
        checks.onlyKnown(filter, "/filter", FILTER_FIELDS);
        List<String> categories = valueList(checks, filter.get("categories"), "categories");
        List<String> types = valueList(checks, filter.get("types"), "types");
        List<String> geos = valueList(checks, filter.get("geos"), "geos");
        Map<String, Object> attributes = new LinkedHashMap<>();
        Object attrs = filter.get("attributes");
        if (attrs != null) {
            Map<String, Object> given = checks.object(attrs, "/filter/attributes", "filter.attributes");
            if (given != null) {
                if (given.size() > 32) {
                    checks.add("/filter/attributes", "at most 32 attributes");
                }
                given.forEach((key, v) -> {
                    String pointer = JsonPointer.child("/filter/attributes", key);
                    if (!Dimensions.ATTRIBUTE_KEY.matcher(key).matches()) {
                        checks.add(pointer, "attribute names match ^[A-Za-z0-9_.-]{1,64}$");
                    } else if (v instanceof String s && s.length() <= 256 || v instanceof Boolean) {
                        attributes.put(key, v);
                    } else if (v instanceof BigDecimal n) {
                        attributes.put(key, n);
                    } else {
                        checks.add(pointer, "must be a string (at most 256 characters), a number or a boolean");
                    }
                });
            }
        }
        return new RuleRecord.Filter(categories, types, geos, attributes);
    }

    private static List<String> valueList(Checks checks, Object value, String field) {
        if (value == null) {
            return List.of();
        }
        String pointer = "/filter/" + field;
        List<Object> list = checks.array(value, pointer);
        if (list == null) {
            return List.of();
        }
        if (list.size() > MAX_FILTER_VALUES) {
            checks.add(pointer, "at most " + MAX_FILTER_VALUES + " values");
        }
        List<String> values = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String s = checks.string(list.get(i), pointer + "/" + i, FILTER_VALUE_LENGTH.get(field));
            if (s != null && !values.contains(s)) {
                values.add(s);
            }
        }
        return List.copyOf(values);
    }

    private static List<String> groupBy(Checks checks, Object value) {
        if (value == null) {
            return List.of();
        }
        List<Object> list = checks.array(value, "/groupBy");
        if (list == null) {
            return List.of();
        }
        if (list.size() > MAX_GROUP_BY) {
            checks.add("/groupBy", "at most " + MAX_GROUP_BY + " dimensions");
        }
        List<String> dims = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String pointer = "/groupBy/" + i;
            if (!(list.get(i) instanceof String dim)) {
                checks.add(pointer, "must be a string");
            } else if (!isDimension(dim)) {
                checks.add(pointer, "'" + dim + "' is not a dimension; use category, type, geo, source or attributes.<key>");
            } else if (dims.contains(dim)) {
                checks.add(pointer, "'" + dim + "' is listed twice");
            } else {
                dims.add(dim);
            }
        }
        return List.copyOf(dims);
    }

    /** True for {@code category}, {@code type}, {@code geo}, {@code source} and {@code attributes.<key>}. */
    public static boolean isDimension(String name) {
        return Dimensions.isDimension(name);
    }

    private static List<RuleRecord.Aggregation> aggregations(Checks checks, Object value) {
        if (value == null) {
            checks.add("/aggregations", "required: 1.." + MAX_AGGREGATIONS + " aggregations");
            return List.of();
        }
        List<Object> list = checks.array(value, "/aggregations");
        if (list == null) {
            return List.of();
        }
        if (list.isEmpty() || list.size() > MAX_AGGREGATIONS) {
            checks.add("/aggregations", "must hold 1.." + MAX_AGGREGATIONS + " aggregations");
        }
        List<RuleRecord.Aggregation> result = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            String pointer = "/aggregations/" + i;
            Map<String, Object> agg = checks.object(list.get(i), pointer, "an aggregation");
            if (agg == null) {
                continue;
            }
            checks.onlyKnown(agg, pointer, AGG_FIELDS);
            String name = null;
            if (!(agg.get("name") instanceof String n)) {
                checks.add(pointer + "/name", agg.get("name") == null ? "required" : "must be a string");
            } else if (!AGG_NAME.matcher(n).matches()) {
                checks.add(pointer + "/name", "must match ^[A-Za-z][A-Za-z0-9_]{0,39}$");
            } else if (!names.add(n)) {
                checks.add(pointer + "/name", "'" + n + "' is used by another aggregation; names are unique");
            } else {
                name = n;
            }
            Op op = null;
            if (!(agg.get("op") instanceof String o)) {
                checks.add(pointer + "/op", agg.get("op") == null ? "required" : "must be a string");
            } else if (!Op.isOp(o)) {
                checks.add(pointer + "/op", "'" + o + "' is not an op; use " + Op.names());
            } else {
                op = Op.of(o);
            }
            String field = aggregationField(checks, agg, op, pointer);
            Integer k = null;
            if (agg.get("k") != null) {
                if (op != Op.TOPK) {
                    checks.add(pointer + "/k", "only topk takes k");
                } else if (!(agg.get("k") instanceof BigDecimal n) || n.stripTrailingZeros().scale() > 0
                    || n.compareTo(BigDecimal.ONE) < 0 || n.compareTo(BigDecimal.valueOf(100)) > 0) {
                    checks.add(pointer + "/k", "must be a whole number 1..100");
                } else {
                    k = n.intValue();
                }
            } else if (op == Op.TOPK) {
                k = RuleDefaults.TOPK_K;
            }
            result.add(new RuleRecord.Aggregation(name, op == null ? null : op.wire(), field, k));
        }
        return List.copyOf(result);
    }

    private static String aggregationField(Checks checks, Map<String, Object> agg, Op op, String pointer) {
        Object value = agg.get("field");
        String fieldPointer = pointer + "/field";
        if (op == null) {
            return value instanceof String s ? s : null;
        }
        boolean numeric = op.numeric();
        if (!op.needsField()) {
            if (value != null) {
                checks.add(fieldPointer, op.wire() + " takes no field");
            }
            return null;
        }
        if (value == null) {
            checks.add(fieldPointer, "required for " + op.wire() + (numeric ? ": value or attributes.<key>" : ": a dimension, value or attributes.<key>"));
            return null;
        }
        if (!(value instanceof String field)) {
            checks.add(fieldPointer, "must be a string");
            return null;
        }
        if (numeric && !Dimensions.isNumericField(field)) {
            checks.add(fieldPointer, op.wire() + " needs a numeric field: value or attributes.<key>");
            return null;
        }
        if (op.valued() && !Dimensions.isField(field)) {
            checks.add(fieldPointer, "'" + field + "' is not a field; use category, type, geo, source, value or attributes.<key>");
            return null;
        }
        return field;
    }

    /** The window size a retention check compares against. */
    private static final class Durations {
        Duration size;
    }

    private static RuleRecord.Window window(Checks checks, Object value, Durations sizes) {
        if (value == null) {
            checks.add("/window", "required: {\"size\": \"PT1M\"} with an optional \"slide\"");
            return null;
        }
        Map<String, Object> window = checks.object(value, "/window", "window");
        if (window == null) {
            return null;
        }
        checks.onlyKnown(window, "/window", WINDOW_FIELDS);
        Duration size = null;
        String sizeText = null;
        if (window.get("size") == null) {
            checks.add("/window/size", "required, e.g. \"PT1M\"");
        } else {
            size = parse(checks, window.get("size"), "/window/size");
            if (size != null && (size.compareTo(MIN_SIZE) < 0 || size.compareTo(MAX_SIZE) > 0)) {
                checks.add("/window/size", "must be PT1S..P1D");
                size = null;
            } else if (size != null && size.toMillis() % 1000 != 0) {
                checks.add("/window/size", "must be whole seconds");
                size = null;
            } else if (size != null) {
                sizeText = (String) window.get("size");
            }
        }
        String slideText = null;
        if (window.get("slide") != null) {
            Duration slide = parse(checks, window.get("slide"), "/window/slide");
            if (slide != null && size != null) {
                if (slide.compareTo(MIN_SIZE) < 0 || slide.compareTo(size) > 0) {
                    checks.add("/window/slide", "must be PT1S..the window size");
                } else if (size.toMillis() % slide.toMillis() != 0) {
                    checks.add("/window/slide", "must divide the window size (" + sizeText + ") exactly");
                } else if (size.toMillis() / slide.toMillis() > MAX_WINDOWS_PER_EVENT) {
                    checks.add("/window/slide", "size/slide must be at most " + MAX_WINDOWS_PER_EVENT + " (each event joins that many windows)");
                } else {
                    slideText = (String) window.get("slide");
                }
            }
        }
        sizes.size = size;
        return size == null ? null : new RuleRecord.Window(sizeText, slideText);
    }

    private static String duration(Checks checks, Object value, String pointer, String fallback, Duration min, Duration max,
                                   String minText, String maxText) {
        if (value == null) {
            return fallback;
        }
        Duration d = parse(checks, value, pointer);
        if (d == null) {
            return null;
        }
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            checks.add(pointer, "must be " + minText + ".." + maxText);
            return null;
        }
        return (String) value;
    }

    private static Duration parse(Checks checks, Object value, String pointer) {
        if (!(value instanceof String text)) {
            checks.add(pointer, "must be an ISO-8601 duration string such as \"PT30S\"");
            return null;
        }
        try {
            Duration d = Duration.parse(text);
            if (d.isNegative()) {
                checks.add(pointer, "must not be negative");
                return null;
            }
            if (d.getNano() % 1_000_000 != 0) {
                checks.add(pointer, "has more precision than milliseconds");
                return null;
            }
            return d;
        } catch (DateTimeParseException e) {
            checks.add(pointer, "'" + text + "' is not an ISO-8601 duration; use e.g. PT30S, PT5M, PT1H or P1D");
            return null;
        }
    }
}
