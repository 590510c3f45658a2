package io.tally.rules.persistence;

import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleRecord;
import io.tally.model.TenantQuotas;
import io.tally.model.TimeSource;
import io.tally.problem.FieldError;
import io.tally.problem.ProblemException;
import io.tally.rules.domain.RuleDefinition;
import jakarta.inject.Singleton;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/**
 * Rules in PostgreSQL. Each change and its outbox row commit in one transaction; the relay is woken
 * after the commit. Versions rise by one per change.
 */
@Singleton
public class RuleStore extends DefinitionStore<RuleDefinition> {

    private final List<OutboxListener> listeners;
    private final TenantQuotas quotas;

    public RuleStore(Database db, ObjectMapper json, List<OutboxListener> listeners, TenantQuotas quotas, TimeSource time) {
        super("rules", db, json, RuleDefinition.class, time);
        this.listeners = listeners;
        this.quotas = quotas;
    }

    /** Told when a committed change left a row in the outbox. */
    public interface OutboxListener {
        void outboxAppended();
    }

    public Stored create(String tenant, RuleDefinition definition) {
        Stored stored = db.write(status -> {
            checkQuotas(status.getConnection(), tenant, definition, null);
            Stored s = table.insert(status.getConnection(), tenant, write(definition), now());
            Outbox.append(status.getConnection(), RuleRecord.key(tenant, s.id()), Outbox.UPSERTED, write(definition.toRecord(tenant, s.id(), 1)));
            return s;
        });
        outboxAppended();
        return stored;
    }

    /** Full replacement; empty when no such rule; {@link VersionConflict} when {@code ifMatch} is stale. */
    public Optional<Stored> replace(String tenant, String id, RuleDefinition definition, Integer ifMatch) {
        Optional<Stored> stored = change(tenant, id, ifMatch, (c, current) -> {
            checkQuotas(c, tenant, definition, current.id());
            Stored s = table.replace(c, current, write(definition), now());
            Outbox.append(c, RuleRecord.key(tenant, s.id()), Outbox.UPSERTED, write(definition.toRecord(tenant, s.id(), s.version())));
            return s;
        });
        stored.ifPresent(s -> outboxAppended());
        return stored;
    }

    /** False when no such rule; {@link VersionConflict} when {@code ifMatch} is stale. Publishes a tombstone. */
    public boolean delete(String tenant, String id, Integer ifMatch) {
        boolean deleted = change(tenant, id, ifMatch, (c, current) -> {
            table.delete(c, current);
            Outbox.append(c, RuleRecord.key(tenant, current.id()), Outbox.DELETED, "{\"deletedVersion\":" + current.version() + "}");
            return true;
        }).isPresent();
        if (deleted) {
            outboxAppended();
        }
        return deleted;
    }

    /**
     * What a tenant's rules cost and may cost: its rules, the windows one event joins over them, and the state cells
     * one event can update ({@link TenantUsage#cellsPerEvent}), with the tenant's quotas.
     */
    public TenantUsage usage(String tenant) {
        TenantQuotas.Quota quota = quotas.of(tenant);
        return db.read(status -> {
            Footprint rules = footprint(status.getConnection(), tenant, null, quota.groupsPerWindow());
            return new TenantUsage(rules.rules(), rules.windows(), rules.cells(), mib(rules.stateBytes()), quota);
        });
    }

    /** What a tenant's stored rules (but {@code except}) add up to: rules, windows and cells per event, worst-case state. */
    private record Footprint(int rules, long windows, long cells, long stateBytes) {
    }

    private Footprint footprint(Connection c, String tenant, String except, int groupsPerWindow) throws SQLException {
        int rules = 0;
        long windows = 0;
        long cells = 0;
        long state = 0;
        try (PreparedStatement query = c.prepareStatement("SELECT id::text, definition::text FROM rules WHERE tenant = ?")) {
            query.setString(1, tenant);
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    if (rows.getString(1).equals(except)) {
                        continue;
                    }
                    RuleDefinition rule = parse(rows.getString(2));
                    rules++;
                    windows += rule.windowsPerEvent();
                    cells += (long) rule.windowsPerEvent() * (1 + rule.aggregations().size());
                    state = saturatingAdd(state, rule.worstCaseStateBytes(groupsPerWindow));
                }
            }
        }
        return new Footprint(rules, windows, cells, state);
    }

    /**
     * Refuses (400 naming the quota) a rule that would take the tenant past its rules or windows-per-event quota.
     * The tenant's rule changes are serialized by a transaction-scoped advisory lock, so two concurrent creates
     * cannot both slip under the quota.
     */
    private void checkQuotas(Connection c, String tenant, RuleDefinition definition, String replacing) throws SQLException {
        TenantQuotas.Quota quota = quotas.of(tenant);
        try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_xact_lock(hashtext(?))")) {
            lock.setString(1, "rules-of:" + tenant);
            lock.execute();
        }
        Footprint others = footprint(c, tenant, replacing, quota.groupsPerWindow());
        int rules = others.rules();
        long windows = others.windows() + definition.windowsPerEvent();
        long stateBytes = saturatingAdd(others.stateBytes(), definition.worstCaseStateBytes(quota.groupsPerWindow()));
        if (replacing == null && rules + 1 > quota.rules()) {
            throw ProblemException.invalid("The tenant's quota of " + quota.rules() + " rules is reached (it has " + rules
                + "); nothing was changed. Delete a rule you no longer need, or ask the operator for a higher quota (TALLY_TENANT_QUOTAS rules:<n>).",
                List.of(new FieldError("", "quota rules: " + quota.rules() + " rules per tenant")));
        }
        if (windows > quota.windowsPerEvent()) {
            throw ProblemException.invalid("With this rule an event of the tenant would join " + windows + " windows across its rules, over the"
                + " tenant's quota of " + quota.windowsPerEvent() + " windows per event; nothing was changed. Use a longer slide (or none), or ask"
                + " the operator for a higher quota (TALLY_TENANT_QUOTAS windows:<n>).",
                List.of(new FieldError(definition.window().slide() == null ? "/window" : "/window/slide",
                    "quota windows: " + quota.windowsPerEvent() + " windows per event across the tenant's rules; this rule alone takes "
                        + definition.windowsPerEvent())));
        }
        long stateQuota = (long) quota.stateMib() << 20;
        if (stateBytes > stateQuota) {
            throw ProblemException.invalid("With this rule the tenant's rules could hold up to " + mib(stateBytes) + " MiB of state (the windows"
                + " each keeps at once × " + quota.groupsPerWindow() + " groups per window × what a group stores), over the tenant's quota of "
                + quota.stateMib() + " MiB; nothing was changed. Keep windows for less time (retention), use longer windows or slides, fewer"
                + " distinct or topk aggregations, or ask the operator for a higher quota (TALLY_TENANT_QUOTAS state:<MiB>).",
                List.of(new FieldError("/retention", "quota state: " + quota.stateMib() + " MiB of state across the tenant's rules, worst case;"
                    + " this rule alone may hold " + mib(definition.worstCaseStateBytes(quota.groupsPerWindow())) + " MiB")));
        }
    }

    private static long mib(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }

    private static long saturatingAdd(long a, long b) {
        long sum = a + b;
        return sum < 0 ? Long.MAX_VALUE : sum;
    }

    private void outboxAppended() {
        listeners.forEach(OutboxListener::outboxAppended);
    }
}
