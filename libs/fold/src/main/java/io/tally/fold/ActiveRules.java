package io.tally.fold;

import io.tally.model.RuleFailure;
import io.tally.model.RuleRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The compiled rules per tenant, swapped atomically as rule versions arrive. */
public final class ActiveRules {

    private static final Logger LOG = LoggerFactory.getLogger(ActiveRules.class);

    private final Map<String, List<CompiledRule>> byTenant = new ConcurrentHashMap<>();
    private final Map<String, RuleFailure> failures = new ConcurrentHashMap<>();
    private volatile boolean anyShadow;

    /**
     * Installs a rule version (or removes the rule when {@code record} is null); returns the compiled rule, if any. A version
     * being backfilled is installed beside the version it replaces: that one keeps counting (and serving), this one counts
     * from its hand-off on as a {@link CompiledRule#shadow()}. After a failed backfill only the version before runs.
     */
    public CompiledRule apply(String tenant, String id, RuleRecord record) {
        List<CompiledRule> compiled = new ArrayList<>(2);
        if (record != null) {
            try {
                if (record.backfilling() || record.backfillFailed()) {
                    if (record.previous() != null) {
                        compiled.add(CompiledRule.compile(record.previous()));
                    }
                    if (record.backfilling()) {
                        compiled.add(CompiledRule.compile(record));
                    }
                } else {
                    compiled.add(CompiledRule.compile(record));
                }
            } catch (RuntimeException e) {
                // The version before it keeps running; the failure is reported, so its status shows 'failed'.
                LOG.warn("rule {}:{} v{} cannot run: {}", tenant, id, record.version(), e.getMessage());
                failures.put(tenant + ":" + id, new RuleFailure(tenant, id, record.version(), "the aggregation cannot run this version: " + e.getMessage()));
                return null;
            }
        }
        failures.remove(tenant + ":" + id);
        byTenant.compute(tenant, (t, rules) -> {
            List<CompiledRule> next = new ArrayList<>(rules == null ? List.of() : rules);
            next.removeIf(r -> r.id().equals(id));
            next.addAll(compiled);
            return next.isEmpty() ? null : List.copyOf(next);
        });
        anyShadow = byTenant.values().stream().flatMap(List::stream).anyMatch(CompiledRule::shadow);
        return compiled.isEmpty() ? null : compiled.getLast();
    }

    /** Whether any version is being backfilled now (cheap: the engine asks while idle). */
    public boolean anyShadow() {
        return anyShadow;
    }

    /** The versions being backfilled now (their first shards), over every tenant. */
    public List<CompiledRule> shadows() {
        return byTenant.values().stream().flatMap(List::stream).filter(CompiledRule::shadow).toList();
    }

    /** The rule versions that could not be compiled (the latest version of each rule that failed). */
    public List<RuleFailure> failures() {
        return List.copyOf(failures.values());
    }

    /** Every tenant's rules now. */
    public Map<String, List<CompiledRule>> all() {
        return Map.copyOf(byTenant);
    }

    public List<CompiledRule> of(String tenant) {
        return byTenant.getOrDefault(tenant, List.of());
    }

    /** How long a tenant with these rules must remember ids for dedup. */
    public static long horizonMillis(List<CompiledRule> rules) {
        return rules.stream().mapToLong(CompiledRule::horizonMillis).max().orElse(0);
    }
}
