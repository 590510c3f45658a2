package io.tally.fold;

import io.tally.model.Event;
import io.tally.model.RuleRecord;
import io.tally.rule.Dimensions;
import io.tally.rule.FieldRef;
import io.tally.rule.RuleSpec;
import io.tally.rule.WindowSpec;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A rule version ready for the hot path: filter, group key, aggregations, windows and lateness, over its {@link RuleSpec}.
 * A rule kept in several shards ({@link RuleSpec#shards()}) has one instance per shard, sharing everything but the
 * shard: {@link #compile} returns the first, whose {@link #shardOf} finds the one that holds a group. The engine treats
 * each shard as a rule of its own (its fence, delta, finality mark and script, keyed by {@link #key()}).
 */
public final class CompiledRule {

    private final RuleRecord record;
    private final RuleSpec spec;
    private final Set<String> categories;
    private final Set<String> types;
    private final Set<String> geos;
    private final Map<FieldRef, String> attributeFilter;
    private final FieldRef[] groupBy;
    private final RuleSpec.Aggregation[] ops;
    private final int shard;
    private final CompiledRule[] shards;
    private final String key;
    private final boolean backfill;

    private CompiledRule(RuleRecord r, boolean backfill) {
        this.record = r;
        this.backfill = backfill;
        this.spec = RuleSpec.of(r);
        RuleRecord.Filter f = r.filter();
        this.categories = f == null || f.categories() == null ? Set.of() : Set.copyOf(f.categories());
        this.types = f == null || f.types() == null ? Set.of() : Set.copyOf(f.types());
        this.geos = f == null || f.geos() == null ? Set.of() : Set.copyOf(f.geos());
        this.attributeFilter = f == null || f.attributes() == null ? Map.of()
            : f.attributes().entrySet().stream().collect(Collectors.toUnmodifiableMap(
                e -> FieldRef.of(Dimensions.ATTRIBUTE_PREFIX + e.getKey()), e -> Json.value(normalize(e.getValue()))));
        this.groupBy = spec.dimensions().stream().map(FieldRef::of).toArray(FieldRef[]::new);
        this.ops = spec.ops().toArray(RuleSpec.Aggregation[]::new);
        this.shard = 0;
        this.shards = new CompiledRule[spec.shards()];
        this.shards[0] = this;
        this.key = RuleRecord.key(spec.tenant(), spec.stateId());
        for (int s = 1; s < shards.length; s++) {
            shards[s] = new CompiledRule(this, s);
        }
    }

    private CompiledRule(CompiledRule first, int shard) {
        this.record = first.record;
        this.backfill = first.backfill;
        this.spec = first.spec;
        this.categories = first.categories;
        this.types = first.types;
        this.geos = first.geos;
        this.attributeFilter = first.attributeFilter;
        this.groupBy = first.groupBy;
        this.ops = first.ops;
        this.shard = shard;
        this.shards = first.shards;
        this.key = first.key + "#" + shard;
    }

    /** Which shard this is (0-based). */
    public int shard() {
        return shard;
    }

    /** How many shards the rule is kept in. */
    public int shards() {
        return shards.length;
    }

    /** Every shard of the rule, the first first. */
    public List<CompiledRule> allShards() {
        return List.of(shards);
    }

    /** The shard that keeps a group ({@link #groupKey}). */
    public CompiledRule shardOf(String groupKey) {
        return shards.length == 1 ? shards[0] : shards[shardIndex(groupKey, shards.length)];
    }

    /**
     * The shard (0-based, of {@code shards}) that keeps a group: its text's hash, mixed (MurmurHash3's finalizer) so that
     * groups that differ in one character spread too.
     */
    static int shardIndex(String groupKey, int shards) {
        int h = groupKey.hashCode();
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return Math.floorMod(h, shards);
    }

    /**
     * {@code tenant:stateId} for the first shard, {@code tenant:stateId#shard} for the others ({@link RuleRecord#stateId()}: the
     * rule id, or {@code id@version} for a backfilled version): what the engine keys a shard's state by.
     */
    public String key() {
        return key;
    }

    /** Whether this shard counts the event: the rule matches it and its group is kept here. */
    public boolean owns(Event e) {
        return matches(e) && (shards.length == 1 || shardOf(groupKey(e)) == this);
    }

    /** Compiles a rule record; throws {@link IllegalArgumentException} for a definition it cannot run. */
    public static CompiledRule compile(RuleRecord record) {
        return new CompiledRule(record, false);
    }

    /**
     * The version as its backfill counts it: the same keys, but its own fence ({@link #backfill()}), so the backfill (the
     * retained events up to where the engine took the version over) and the engine (from there on) each apply their
     * events once.
     */
    public static CompiledRule compileBackfill(RuleRecord record) {
        return new CompiledRule(record, true);
    }

    /** True for the backfill's view of a version ({@link #compileBackfill}): its writes move the backfill's fence. */
    public boolean backfill() {
        return backfill;
    }

    /**
     * True while this version is being backfilled: the engine counts it from its hand-off on (so nothing is missing when it
     * switches over) but nobody reads it yet; its windows are not announced or closed until it serves.
     */
    public boolean shadow() {
        return record.backfilling();
    }

    private static Object normalize(Object v) {
        return v instanceof Number n ? Double.valueOf(n.doubleValue()) : v;
    }

    public String tenant() {
        return spec.tenant();
    }

    /** The rule version this was compiled from. */
    public RuleRecord record() {
        return record;
    }

    /** The rule as every service reads it. */
    public RuleSpec spec() {
        return spec;
    }

    public String id() {
        return spec.id();
    }

    /** The id its state is kept under ({@link RuleRecord#stateId()}). */
    public String stateId() {
        return spec.stateId();
    }

    public int version() {
        return spec.version();
    }

    /** The aggregations, as an array for the hot path (do not modify). */
    public RuleSpec.Aggregation[] ops() {
        return ops;
    }

    public WindowSpec windows() {
        return spec.window();
    }

    public long latenessMillis() {
        return spec.latenessMillis();
    }

    public long retentionMillis() {
        return spec.retentionMillis();
    }

    /** When the stored window starting at {@code start} expires (epoch ms): its end plus the retention. */
    public long expiresAt(long start) {
        return start + spec.sizeMillis() + spec.retentionMillis();
    }

    /**
     * How long the rule's fence and update sequence must outlive its last write: longer than any of its
     * windows can live, so a window never outlives the sequence its readers order by.
     */
    public long metaTtlMillis() {
        long kept = Math.max(spec.retentionMillis(), spec.latenessMillis());
        if (spec.hasRollup()) {
            // The rollup's windows outlive the rule's: its finality mark (and a rollup never made twice) must too.
            kept = Math.max(kept, spec.rollupMillis() + spec.rollupRetentionMillis());
        }
        return spec.sizeMillis() + kept + TimeUnit.DAYS.toMillis(1);
    }

    /** Dedup must remember an id while any window it could join is still open. */
    public long horizonMillis() {
        return spec.sizeMillis() + spec.latenessMillis();
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
        return spec.dimensions();
    }
}
