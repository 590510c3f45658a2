package io.tally.rules.persistence;

import io.micronaut.serde.ObjectMapper;
import io.tally.model.TimeSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.UUID;

/**
 * What rules and dashboards share: tenant-scoped, versioned JSON definitions in one table, read by id or in
 * pages, changed under the row's lock with an optional expected version (If-Match).
 *
 * @param <D> the definition type stored as JSON
 */
abstract class DefinitionStore<D> {

    /** A change of the locked current row, inside the change's transaction. */
    @FunctionalInterface
    interface Change<R> {
        R apply(Connection connection, Stored current) throws SQLException;
    }

    protected final DefinitionTable table;
    protected final Database db;
    protected final ObjectMapper json;
    private final Class<D> type;
    private final TimeSource time;

    DefinitionStore(String table, Database db, ObjectMapper json, Class<D> type, TimeSource time) {
        this.time = time;
        this.table = new DefinitionTable(table);
        this.db = db;
        this.json = json;
        this.type = type;
    }

    public Optional<Stored> find(String tenant, String id) {
        Optional<UUID> uuid = DefinitionTable.parseId(id);
        return uuid.isEmpty() ? Optional.empty() : db.read(status -> table.find(status.getConnection(), tenant, uuid.get()));
    }

    /** A page of the tenant's definitions; {@link IllegalArgumentException} for a page token this service did not issue. */
    public Page list(String tenant, int pageSize, String pageToken) {
        DefinitionTable.Cursor after = pageToken == null ? null
            : DefinitionTable.Cursor.parse(pageToken).orElseThrow(() -> new IllegalArgumentException("unknown page token"));
        return db.read(status -> table.list(status.getConnection(), tenant, pageSize, after));
    }

    public D definition(Stored stored) {
        return parse(stored.definitionJson());
    }

    /** A stored definition's JSON, read back. */
    protected D parse(String definitionJson) {
        try {
            return json.readValue(definitionJson, type);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Locks the current row and applies {@code change} in one transaction; empty when there is no such row,
     * {@link VersionConflict} when {@code ifMatch} names another version than the current one.
     */
    protected <R> Optional<R> change(String tenant, String id, Integer ifMatch, Change<R> change) {
        Optional<UUID> uuid = DefinitionTable.parseId(id);
        if (uuid.isEmpty()) {
            return Optional.empty();
        }
        return db.write(status -> {
            Optional<Stored> current = table.lock(status.getConnection(), tenant, uuid.get());
            if (current.isEmpty()) {
                return Optional.empty();
            }
            if (ifMatch != null && ifMatch != current.get().version()) {
                throw new VersionConflict(current.get().version());
            }
            return Optional.of(change.apply(status.getConnection(), current.get()));
        });
    }

    protected String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Timestamps are stored and shown at millisecond precision. */
    protected Instant now() {
        return time.instant().truncatedTo(ChronoUnit.MILLIS);
    }
}
