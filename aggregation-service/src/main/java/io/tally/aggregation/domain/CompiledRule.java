package io.tally.aggregation.domain;

import io.tally.model.Event;
import io.tally.model.RuleRecord;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A rule version ready for the hot path: filter, group key, aggregations, windows and lateness. */
public final class CompiledRule {

    /** One aggregation of the rule. */
    public record Op(String name, AggregationKind kind, FieldRef field, int k) {
    }

    private final RuleRecord record;
    private final String tenant;
    private final String id;
    private final int version;
    private final Set<String> categories;
    private final Set<String> types;
    private final Set<String> geos;
    private final Map<FieldRef, String> attributeFilter;
    private final FieldRef[] groupBy;
    private final Op[] ops;
    private final WindowAssigner windows;
    private final long latenessMillis;
    private final long retentionMillis;

    private CompiledRule(RuleRecord r) {
        this.record = r;
        this.tenant = r.tenant();
        this.id = r.id();
        this.version = r.version();
        RuleRecord.Filter f = r.filter();
        this.categories = f == null || f.categories() == null ? Set.of() : Set.copyOf(f.categories());
        this.types = f == null || f.types() == null ? Set.of() : Set.copyOf(f.types());
        this.geos = f == null || f.geos() == null ? Set.of() : Set.copyOf(f.geos());
        this.attributeFilter = f == null || f.attributes() == null ? Map.of()
            : f.attributes().entrySet().stream().collect(java.util.stream.Collectors.toUnmodifiableMap(
                e -> FieldRef.of("attributes." + e.getKey()), e -> Json.value(normalize(e.getValue()))));
        List<String> dims = r.groupBy() == null ? List.of() : r.groupBy();
        this.groupBy = dims.stream().map(FieldRef::of).toArray(FieldRef[]::new);
        this.ops = r.aggregations().stream().map(a -> new Op(a.name(), AggregationKind.of(a.op()),
            a.field() == null ? null : FieldRef.of(a.field()), a.k() == null ? 10 : a.k())).toArray(Op[]::new);
        for (Op op : ops) {
            if ((op.kind().numeric() || op.kind() == AggregationKind.DISTINCT || op.kind() == AggregationKind.TOPK) && op.field() == null) {
                throw new IllegalArgumentException("aggregation " + op.name() + " needs a field");
            }
        }
        Duration size = Duration.parse(r.window().size());
        this.windows = new WindowAssigner(size, r.window().slide() == null ? size : Duration.parse(r.window().slide()));
        this.latenessMillis = r.allowedLateness() == null ? 5000 : Duration.parse(r.allowedLateness()).toMillis();
        this.retentionMillis = r.retention() == null ? Duration.ofHours(24).toMillis() : Duration.parse(r.retention()).toMillis();
    }

    /** Compiles a rule record; throws {@link IllegalArgumentException} for a definition it cannot run. */
    public static CompiledRule compile(RuleRecord record) {
        return new CompiledRule(record);
    }

    private static Object normalize(Object v) {
        return v instanceof Number n ? Double.valueOf(n.doubleValue()) : v;
    }

    public String tenant() {
        return tenant;
    }

    /** The rule version this was compiled from. */
    public RuleRecord record() {
        return record;
    }

    public String id() {
        return id;
    }

    public int version() {
        return version;
    }

    public Op[] ops() {
        return ops;
    }

    public WindowAssigner windows() {
        return windows;
    }

    public long latenessMillis() {
        return latenessMillis;
    }

    public long retentionMillis() {
        return retentionMillis;
    }

    /** Dedup must remember an id while any window it could join is still open. */
    /** When the stored window starting at {@code start} expires (epoch ms): its end plus the retention. */
    public long expiresAt(long start) {
        return start + windows.sizeMillis() + retentionMillis;
    }

    /**
     * How long the rule's fence and update sequence must outlive its last write: longer than any of its
     * windows can live, so a window never outlives the sequence its readers order by.
     */
    public long metaTtlMillis() {
        return windows.sizeMillis() + Math.max(retentionMillis, latenessMillis) + java.util.concurrent.TimeUnit.DAYS.toMillis(1);
    }

    public long horizonMillis() {
        return windows.sizeMillis() + latenessMillis;
    }

    public boolean matches(Event e) {
        if (!categories.isEmpty() && !categories.contains(e.category())) {
            return false;
        }
        if (!types.isEmpty() && (e.type() == null || !types.contains(e.type()))) {
            return false;
        }
        if (!geos.isEmpty() && (e.geo() == null || !geos.contains(e.geo()))) {
            return false;
        }
        for (Map.Entry<FieldRef, String> a : attributeFilter.entrySet()) {
            Object v = a.getKey().read(e);
            if (v == null || !a.getValue().equals(Json.value(v))) {
                return false;
            }
        }
        return true;
    }

    /** The group as a JSON array of the dimension values ({@code null} where the event lacks one). */
    public String groupKey(Event e) {
        StringBuilder out = new StringBuilder(32).append('[');
        for (int i = 0; i < groupBy.length; i++) {
            if (i > 0) {
                out.append(',');
            }
            Json.appendValue(out, groupBy[i].read(e));
        }
        return out.append(']').toString();
    }

    public List<String> groupDimensions() {
        return java.util.Arrays.stream(groupBy).map(FieldRef::path).toList();
    }
}
