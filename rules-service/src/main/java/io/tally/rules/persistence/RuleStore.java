package io.tally.rules.persistence;

import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleRecord;
import io.tally.rules.domain.RuleDefinition;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Rules in PostgreSQL. Each change and its outbox row commit in one transaction; the relay is woken
 * after the commit. Versions rise by one per change.
 */
@Singleton
public class RuleStore {

    private static final DefinitionTable RULES = new DefinitionTable("rules");

    private final Database db;
    private final ObjectMapper json;
    private final Clock clock;
    private final List<Runnable> afterCommit;

    public RuleStore(Database db, ObjectMapper json, List<OutboxListener> listeners) {
        this.db = db;
        this.json = json;
        this.clock = Clock.systemUTC();
        this.afterCommit = listeners.stream().<Runnable>map(l -> l::outboxAppended).toList();
    }

    /** Told when a committed change left a row in the outbox. */
    public interface OutboxListener {
        void outboxAppended();
    }

    public Stored create(String tenant, RuleDefinition definition) {
        Stored stored = db.write(status -> {
            Stored s = RULES.insert(status.getConnection(), tenant, write(definition), now());
            Outbox.append(status.getConnection(), RuleRecord.key(tenant, s.id()), Outbox.UPSERTED, write(definition.toRecord(tenant, s.id(), 1)));
            return s;
        });
        afterCommit.forEach(Runnable::run);
        return stored;
    }

    /** Full replacement; empty when no such rule; {@link VersionConflict} when {@code ifMatch} is stale. */
    public Optional<Stored> replace(String tenant, String id, RuleDefinition definition, Integer ifMatch) {
        Optional<UUID> uuid = DefinitionTable.parseId(id);
        if (uuid.isEmpty()) {
            return Optional.empty();
        }
        Optional<Stored> stored = db.write(status -> {
            Optional<Stored> current = RULES.lock(status.getConnection(), tenant, uuid.get());
            if (current.isEmpty()) {
                return Optional.empty();
            }
            checkVersion(current.get(), ifMatch);
            Stored s = RULES.replace(status.getConnection(), current.get(), write(definition), now());
            Outbox.append(status.getConnection(), RuleRecord.key(tenant, s.id()), Outbox.UPSERTED,
                write(definition.toRecord(tenant, s.id(), s.version())));
            return Optional.of(s);
        });
        stored.ifPresent(s -> afterCommit.forEach(Runnable::run));
        return stored;
    }

    /** False when no such rule; {@link VersionConflict} when {@code ifMatch} is stale. Publishes a tombstone. */
    public boolean delete(String tenant, String id, Integer ifMatch) {
        Optional<UUID> uuid = DefinitionTable.parseId(id);
        if (uuid.isEmpty()) {
            return false;
        }
        boolean deleted = db.write(status -> {
            Optional<Stored> current = RULES.lock(status.getConnection(), tenant, uuid.get());
            if (current.isEmpty()) {
                return false;
            }
            checkVersion(current.get(), ifMatch);
            RULES.delete(status.getConnection(), current.get());
            Outbox.append(status.getConnection(), RuleRecord.key(tenant, id), Outbox.DELETED,
                "{\"deletedVersion\":" + current.get().version() + "}");
            return true;
        });
        if (deleted) {
            afterCommit.forEach(Runnable::run);
        }
        return deleted;
    }

    public Optional<Stored> find(String tenant, String id) {
        Optional<UUID> uuid = DefinitionTable.parseId(id);
        if (uuid.isEmpty()) {
            return Optional.empty();
        }
        return db.read(status -> RULES.find(status.getConnection(), tenant, uuid.get()));
    }

    /** A page of the tenant's rules; {@link IllegalArgumentException} for a page token this service did not issue. */
    public Page list(String tenant, int pageSize, String pageToken) {
        DefinitionTable.Cursor after = pageToken == null ? null
            : DefinitionTable.Cursor.parse(pageToken).orElseThrow(() -> new IllegalArgumentException("unknown page token"));
        return db.read(status -> RULES.list(status.getConnection(), tenant, pageSize, after));
    }

    public RuleDefinition definition(Stored stored) {
        try {
            return json.readValue(stored.definitionJson(), RuleDefinition.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void checkVersion(Stored current, Integer ifMatch) {
        if (ifMatch != null && ifMatch != current.version()) {
            throw new VersionConflict(current.version());
        }
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    private String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
