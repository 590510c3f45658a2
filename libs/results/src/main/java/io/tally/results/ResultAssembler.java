package io.tally.results;

import io.tally.model.StateKeys;
import io.tally.rule.RuleSpec;
import io.tally.rule.StoredFields;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/** Turns stored window state into the contract's values: count, sum, min, max, avg, rate, distinct, topk. */
public final class ResultAssembler {

    /** One group of one window: its dimension values and its aggregation values. */
    public record Group(String key, Map<String, Object> group, Map<String, Object> values) {
    }

    private final Function<String, List<Object>> parseArray;
    private final Function<String, Object> parseValue;

    /** @param parseArray reads a group key (a JSON array); @param parseValue reads one JSON value */
    public ResultAssembler(Function<String, List<Object>> parseArray, Function<String, Object> parseValue) {
        this.parseArray = parseArray;
        this.parseValue = parseValue;
    }

    /**
     * The groups of one window, ordered by key, keeping those whose dimension values match
     * {@code filter} (dimension → value as text).
     */
    public List<Group> groups(RuleSpec rule, RawWindow window, Map<String, String> filter) {
        String sep = String.valueOf(StateKeys.SEP);
        Map<String, Map<String, String>> byGroup = new TreeMap<>();
        window.fields().forEach((field, value) -> {
            int cut = field.indexOf(StateKeys.SEP);
            if (cut > 0) {
                byGroup.computeIfAbsent(field.substring(0, cut), g -> new LinkedHashMap<>()).put(field.substring(cut + 1), value);
            }
        });
        List<Group> groups = new ArrayList<>();
        double seconds = rule.sizeMillis() / 1000.0;
        List<RuleSpec.Aggregation> ops = rule.ops();
        // Per average: the field holding its sum when a sum of the same field keeps it (StoredFields), else null.
        String[] sumFields = new String[ops.size()];
        for (int i = 0; i < ops.size(); i++) {
            int sum = StoredFields.sumBeside(ops, i);
            sumFields[i] = sum < 0 ? null : ops.get(sum).name();
        }
        for (Map.Entry<String, Map<String, String>> g : byGroup.entrySet()) {
            List<Object> dims = parseArray.apply(g.getKey());
            Map<String, Object> group = new LinkedHashMap<>();
            for (int i = 0; i < rule.dimensions().size() && i < dims.size(); i++) {
                group.put(rule.dimensions().get(i), dims.get(i));
            }
            if (!matches(group, filter)) {
                continue;
            }
            Map<String, String> f = g.getValue();
            Map<String, Object> values = new LinkedHashMap<>();
            for (int i = 0; i < ops.size(); i++) {
                RuleSpec.Aggregation op = ops.get(i);
                String raw = f.get(op.name());
                Object value = switch (op.kind()) {
                    case COUNT -> eventCount(f, raw);
                    case SUM -> raw == null ? 0.0 : Double.parseDouble(raw);
                    case MIN, MAX -> raw == null ? null : Double.parseDouble(raw);
                    case AVG -> {
                        String s = firstOf(sumFields[i] == null ? null : f.get(sumFields[i]), f.get(op.name() + sep + "s"));
                        String n = f.get(op.name() + sep + "n");
                        yield s == null || n == null || Long.parseLong(n) == 0 ? null : Double.parseDouble(s) / Long.parseLong(n);
                    }
                    case RATE -> eventCount(f, raw) / seconds;
                    case DISTINCT -> window.distinct().getOrDefault(g.getKey() + sep + op.name(), 0L);
                    case TOPK -> topk(f, op, sep);
                };
                values.put(op.name(), value);
            }
            groups.add(new Group(g.getKey(), group, values));
        }
        return groups;
    }

    /**
     * A count or rate: the group's event count ({@link StoredFields}), or the aggregation's own field in state written
     * before every group kept its event count.
     */
    private static long eventCount(Map<String, String> fields, String own) {
        String raw = firstOf(fields.get(StoredFields.EVENTS), own);
        return raw == null ? 0L : Long.parseLong(raw);
    }

    private static String firstOf(String preferred, String otherwise) {
        return preferred != null ? preferred : otherwise;
    }

    private List<Map<String, Object>> topk(Map<String, String> fields, RuleSpec.Aggregation op, String sep) {
        String prefix = op.name() + sep;
        record Entry(String json, Object value, long count) {
        }
        List<Entry> entries = new ArrayList<>();
        fields.forEach((field, count) -> {
            if (field.startsWith(prefix) && field.length() > prefix.length()) {
                String json = field.substring(prefix.length());
                entries.add(new Entry(json, parseValue.apply(json), Long.parseLong(count)));
            }
        });
        entries.sort(Comparator.comparingLong(Entry::count).reversed()
            .thenComparing(e -> String.valueOf(e.value())));
        List<Map<String, Object>> top = new ArrayList<>();
        for (Entry e : entries.subList(0, Math.min(op.k(), entries.size()))) {
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("value", e.value());
            item.put("count", e.count());
            top.add(item);
        }
        return top;
    }

    /** Whether a group's dimension values equal the filter's (values compared as text, whole numbers without a fraction). */
    public static boolean matches(Map<String, Object> group, Map<String, String> filter) {
        for (Map.Entry<String, String> f : filter.entrySet()) {
            Object v = group.get(f.getKey());
            String text = v == null ? "null" : v instanceof Double d && d == Math.rint(d) ? Long.toString(d.longValue()) : String.valueOf(v);
            if (!text.equals(f.getValue())) {
                return false;
            }
        }
        return true;
    }
}
