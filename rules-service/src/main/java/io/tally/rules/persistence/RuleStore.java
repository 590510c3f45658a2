package io.tally.rules.persistence;

import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleRecord;
import io.tally.rules.domain.RuleDefinition;
import jakarta.inject.Singleton;

import java.util.List;
import java.util.Optional;

/**
 * Rules in PostgreSQL. Each change and its outbox row commit in one transaction; the relay is woken
 * after the commit. Versions rise by one per change.
 */
@Singleton
public class RuleStore extends DefinitionStore<RuleDefinition> {

    private final List<OutboxListener> listeners;

    public RuleStore(Database db, ObjectMapper json, List<OutboxListener> listeners) {
        super("rules", db, json, RuleDefinition.class);
        this.listeners = listeners;
    }

    /** Told when a committed change left a row in the outbox. */
    public interface OutboxListener {
        void outboxAppended();
    }

    public Stored create(String tenant, RuleDefinition definition) {
        Stored stored = db.write(status -> {
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

    private void outboxAppended() {
        listeners.forEach(OutboxListener::outboxAppended);
    }
}
