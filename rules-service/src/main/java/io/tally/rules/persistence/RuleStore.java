package io.tally.rules.persistence;

import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleRecord;
import io.tally.model.TenantQuotas;
import io.tally.model.TimeSource;
import io.tally.problem.FieldError;
import io.tally.problem.ProblemException;
import io.tally.rules.domain.RuleDefinition;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

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
        return create(tenant, definition, null);
    }

    /**
     * A new rule; with {@code backfill} (an ISO-8601 span) its first version first counts the tenant's retained events of
     * that span and serves once that is done (nothing serves before).
     */
    public Stored create(String tenant, RuleDefinition definition, String backfill) {
        Stored stored = db.write(status -> {
            Connection c = status.getConnection();
            checkQuotas(c, tenant, definition, null);
            checkBackfill(tenant, backfill);
            Stored s = table.insert(c, tenant, write(definition), now());
            Outbox.append(c, RuleRecord.key(tenant, s.id()), Outbox.UPSERTED, write(newVersion(c, s, definition, backfill, null)));
            return s;
        });
        outboxAppended();
        return stored;
    }

    /** Full replacement; empty when no such rule; {@link VersionConflict} when {@code ifMatch} is stale. */
    public Optional<Stored> replace(String tenant, String id, RuleDefinition definition, Integer ifMatch) {
        return replace(tenant, id, definition, ifMatch, null);
    }

    /**
     * Full replacement; with {@code backfill} the new version first counts the retained events of that span while the version
     * serving now keeps serving. Empty when no such rule; {@link VersionConflict} when {@code ifMatch} is stale.
     */
    public Optional<Stored> replace(String tenant, String id, RuleDefinition definition, Integer ifMatch, String backfill) {
        Optional<Stored> stored = change(tenant, id, ifMatch, (c, current) -> {
            checkQuotas(c, tenant, definition, current.id());
            checkBackfill(tenant, backfill);
            RuleRecord serving = published(c, current).serving();
            Stored s = table.replace(c, current, write(definition), now());
            Outbox.append(c, RuleRecord.key(tenant, s.id()), Outbox.UPSERTED,
                write(newVersion(c, s, definition, backfill, serving.version() == 0 ? null : serving)));
            return s;
        });
        stored.ifPresent(s -> outboxAppended());
        return stored;
    }

    /** The record of a new version: plain, or backfilling from now minus the span (its row written) with the version serving meanwhile. */
    private RuleRecord newVersion(Connection c, Stored s, RuleDefinition definition, String backfill, RuleRecord serving) throws SQLException {
        RuleRecord record = definition.toRecord(s.tenant(), s.id(), s.version());
        if (backfill == null) {
            return record;
        }
        Instant from = s.updatedAt().minus(Duration.parse(backfill));
        Backfills.insert(c, s.tenant(), s.id(), s.version(), backfill, from, serving == null ? null : write(serving), s.updatedAt());
        return withBackfill(record, new RuleRecord.Backfill(backfill, from.toString(), RuleRecord.Backfill.RUNNING, null), serving);
    }

    private static RuleRecord withBackfill(RuleRecord r, RuleRecord.Backfill backfill, RuleRecord previous) {
        return new RuleRecord(r.tenant(), r.id(), r.version(), r.name(), r.filter(), r.groupBy(), r.aggregations(), r.window(),
            r.allowedLateness(), r.retention(), r.shards(), backfill, previous, r.rollup());
    }

    /** The record last published for the rule's current version (with its backfill, as it stands). */
    private RuleRecord published(Connection c, Stored current) throws SQLException {
        RuleRecord record = parse(current.definitionJson()).toRecord(current.tenant(), current.id(), current.version());
        Optional<Backfills.Row> row = Backfills.find(c, current.tenant(), current.id(), current.version());
        if (row.isEmpty()) {
            return record;
        }
        Backfills.Row b = row.get();
        RuleRecord previous = b.previousJson() == null ? null : readRecord(b.previousJson());
        RuleRecord.Backfill backfill = new RuleRecord.Backfill(b.span(), b.from().toString(), b.state(), b.reason());
        return withBackfill(record, backfill, RuleRecord.Backfill.DONE.equals(b.state()) ? null : previous);
    }

    private RuleRecord readRecord(String text) {
        try {
            return json.readValue(text, RuleRecord.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Refuses (400, pointer /backfill) a backfill longer than the tenant's quota. */
    private void checkBackfill(String tenant, String backfill) {
        if (backfill == null) {
            return;
        }
        int hours = quotas.of(tenant).backfillHours();
        if (Duration.parse(backfill).compareTo(Duration.ofHours(hours)) > 0) {
            throw ProblemException.invalid("The backfill asked for (" + backfill + ") is longer than the tenant's quota of " + hours + " hours; nothing"
                + " was changed. Ask for a shorter span, or ask the operator for a higher quota (TALLY_TENANT_QUOTAS backfill:<hours>).",
                List.of(new FieldError("/backfill", "quota backfill: " + hours + " hours of retained events per backfill")));
        }
    }

    /** How a rule's current version's backfill stands, if it has one. */
    public Optional<Backfill> backfill(Stored stored) {
        return backfills(stored.tenant(), List.of(stored)).values().stream().findFirst();
    }

    /** How the backfills of these rules' current versions stand, keyed by rule id (rules without one are absent). */
    public Map<String, Backfill> backfills(String tenant, List<Stored> rules) {
        Map<String, Integer> versions = new HashMap<>();
        rules.forEach(r -> versions.put(r.id(), r.version()));
        return db.read(status -> {
            Map<String, Backfill> found = new HashMap<>();
            Backfills.current(status.getConnection(), tenant, versions).forEach((id, row) ->
                found.put(id, new Backfill(row.span(), row.from(), row.state(), row.reason())));
            return found;
        });
    }

    /** A version's backfill: its span, where it starts, and {@code running}, {@code done} or {@code failed} (with the reason). */
    public record Backfill(String span, Instant from, String state, String reason) {
    }

    /**
     * Ends a running backfill of a rule's current version as an aggregation instance reported it: {@code done} publishes the
     * version serving (the switch-over), {@code failed} keeps the version before serving. False when there is nothing to end
     * (ended before, by this replica or another, or the rule moved on to another version, or is gone).
     */
    public boolean endBackfill(String tenant, String id, int version, String state, String reason) {
        Optional<UUID> uuid = DefinitionTable.parseId(id);
        if (uuid.isEmpty()) {
            return false;
        }
        boolean ended = db.write(status -> {
            Connection c = status.getConnection();
            Optional<Stored> current = table.lock(c, tenant, uuid.get());
            if (current.isEmpty() || current.get().version() != version || !Backfills.end(c, tenant, id, version, state, reason, now())) {
                return false;
            }
            table.resetPublished(c, tenant, uuid.get());
            Outbox.append(c, RuleRecord.key(tenant, id), Outbox.UPSERTED, write(published(c, current.get())));
            return true;
        });
        if (ended) {
            outboxAppended();
        }
        return ended;
    }

    /** False when no such rule; {@link VersionConflict} when {@code ifMatch} is stale. Publishes a tombstone. */
    public boolean delete(String tenant, String id, Integer ifMatch) {
        boolean deleted = change(tenant, id, ifMatch, (c, current) -> {
            table.delete(c, current);
            Backfills.deleteAll(c, tenant, current.id());
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
