package io.tally.rules.persistence;

import io.micronaut.serde.ObjectMapper;
import io.tally.rules.domain.DashboardDefinition;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.UUID;

/** Dashboards (saved queries) in PostgreSQL, versioned like rules; nothing downstream consumes them. */
@Singleton
public class DashboardStore {

    private static final DefinitionTable DASHBOARDS = new DefinitionTable("dashboards");

    private final Database db;
    private final ObjectMapper json;

    public DashboardStore(Database db, ObjectMapper json) {
        this.db = db;
        this.json = json;
    }

    public Stored create(String tenant, DashboardDefinition definition) {
        return db.write(status -> DASHBOARDS.insert(status.getConnection(), tenant, write(definition), now()));
    }

    public Optional<Stored> replace(String tenant, String id, DashboardDefinition definition, Integer ifMatch) {
        Optional<UUID> uuid = DefinitionTable.parseId(id);
        return uuid.isEmpty() ? Optional.empty() : db.write(status -> {
            Optional<Stored> current = DASHBOARDS.lock(status.getConnection(), tenant, uuid.get());
            if (current.isEmpty()) {
                return Optional.empty();
            }
            RuleStore.checkVersion(current.get(), ifMatch);
            return Optional.of(DASHBOARDS.replace(status.getConnection(), current.get(), write(definition), now()));
        });
    }

    public boolean delete(String tenant, String id, Integer ifMatch) {
        Optional<UUID> uuid = DefinitionTable.parseId(id);
        return uuid.isPresent() && db.write(status -> {
            Optional<Stored> current = DASHBOARDS.lock(status.getConnection(), tenant, uuid.get());
            if (current.isEmpty()) {
                return false;
            }
            RuleStore.checkVersion(current.get(), ifMatch);
            DASHBOARDS.delete(status.getConnection(), current.get());
            return true;
        });
    }

    public Optional<Stored> find(String tenant, String id) {
        Optional<UUID> uuid = DefinitionTable.parseId(id);
        return uuid.isEmpty() ? Optional.empty() : db.read(status -> DASHBOARDS.find(status.getConnection(), tenant, uuid.get()));
    }

    public Page list(String tenant, int pageSize, String pageToken) {
        DefinitionTable.Cursor after = pageToken == null ? null
            : DefinitionTable.Cursor.parse(pageToken).orElseThrow(() -> new IllegalArgumentException("unknown page token"));
        return db.read(status -> DASHBOARDS.list(status.getConnection(), tenant, pageSize, after));
    }

    public DashboardDefinition definition(Stored stored) {
        try {
            return json.readValue(stored.definitionJson(), DashboardDefinition.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Instant now() {
        return Instant.now().truncatedTo(ChronoUnit.MILLIS);
    }

    private String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
