package io.tally.rules.persistence;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Versioned, tenant-scoped JSON definitions in one table ({@code rules} or {@code dashboards}). Every
 * statement names the tenant, so a foreign id behaves exactly like an unknown one. Runs on the
 * connection of the caller's transaction.
 */
final class DefinitionTable {

    private final String table;

    DefinitionTable(String table) {
        this.table = table;
    }

    /** The id as stored, or empty for text that is no id at all (answered like an unknown id). */
    static Optional<UUID> parseId(String id) {
        try {
            return id != null && id.length() == 36 ? Optional.of(UUID.fromString(id)) : Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    Stored insert(Connection c, String tenant, String definitionJson, Instant now) throws SQLException {
        UUID id = UUID.randomUUID();
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table
            + " (tenant, id, version, definition, created_at, updated_at) VALUES (?, ?, 1, ?::jsonb, ?, ?)")) {
            ps.setString(1, tenant);
            ps.setObject(2, id);
            ps.setString(3, definitionJson);
            ps.setTimestamp(4, Timestamp.from(now));
            ps.setTimestamp(5, Timestamp.from(now));
            ps.executeUpdate();
        }
        return new Stored(tenant, id.toString(), 1, definitionJson, now, now, null, null);
    }

    /** Forgets where the current version was published: a record published for it again (its backfill ended) is not relayed yet. */
    void resetPublished(Connection c, String tenant, UUID id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE " + table + " SET published_partition = NULL, published_offset = NULL"
            + " WHERE tenant = ? AND id = ?")) {
            ps.setString(1, tenant);
            ps.setObject(2, id);
            ps.executeUpdate();
        }
    }

    /** Locks the row for this transaction: concurrent changes of one definition queue up behind each other. */
    Optional<Stored> lock(Connection c, String tenant, UUID id) throws SQLException {
        return select(c, "SELECT " + columns() + " FROM " + table + " WHERE tenant = ? AND id = ? FOR UPDATE", tenant, id);
    }

    Optional<Stored> find(Connection c, String tenant, UUID id) throws SQLException {
        return select(c, "SELECT " + columns() + " FROM " + table + " WHERE tenant = ? AND id = ?", tenant, id);
    }

    Stored replace(Connection c, Stored current, String definitionJson, Instant now) throws SQLException {
        int version = current.version() + 1;
        try (PreparedStatement ps = c.prepareStatement("UPDATE " + table + " SET version = ?, definition = ?::jsonb, updated_at = ?"
            + publishedReset() + " WHERE tenant = ? AND id = ?")) {
            ps.setInt(1, version);
            ps.setString(2, definitionJson);
            ps.setTimestamp(3, Timestamp.from(now));
            ps.setString(4, current.tenant());
            ps.setObject(5, UUID.fromString(current.id()));
            ps.executeUpdate();
        }
        return new Stored(current.tenant(), current.id(), version, definitionJson, current.createdAt(), now, null, null);
    }

    void delete(Connection c, Stored current) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + table + " WHERE tenant = ? AND id = ?")) {
            ps.setString(1, current.tenant());
            ps.setObject(2, UUID.fromString(current.id()));
            ps.executeUpdate();
        }
    }

    /** A page in creation order; the token is opaque to clients (creation time and id of the last row). */
    Page list(Connection c, String tenant, int pageSize, Cursor after) throws SQLException {
        String sql = "SELECT " + columns() + " FROM " + table + " WHERE tenant = ?"
            + (after == null ? "" : " AND (created_at, id) > (?, ?)") + " ORDER BY created_at, id LIMIT ?";
        List<Stored> items = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            int i = 1;
            ps.setString(i++, tenant);
            if (after != null) {
                ps.setTimestamp(i++, Timestamp.from(after.createdAt()));
                ps.setObject(i++, after.id());
            }
            ps.setInt(i, pageSize + 1);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    items.add(row(rs));
                }
            }
        }
        String next = null;
        if (items.size() > pageSize) {
            items = items.subList(0, pageSize);
            Stored last = items.getLast();
            next = new Cursor(last.createdAt(), UUID.fromString(last.id())).token();
        }
        return new Page(List.copyOf(items), next);
    }

    /** Where a listing continues. */
    record Cursor(Instant createdAt, UUID id) {

        String token() {
            String raw = createdAt.getEpochSecond() + "." + createdAt.getNano() + "." + id;
            return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
        }

        /** The cursor a token names, or empty for a token this service did not hand out. */
        static Optional<Cursor> parse(String token) {
            try {
                String[] parts = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8).split("\\.", 3);
                if (parts.length != 3) {
                    return Optional.empty();
                }
                return Optional.of(new Cursor(Instant.ofEpochSecond(Long.parseLong(parts[0]), Long.parseLong(parts[1])),
                    UUID.fromString(parts[2])));
            } catch (IllegalArgumentException | DateTimeException e) {
                return Optional.empty();
            }
        }
    }

    private boolean isRules() {
        return "rules".equals(table);
    }

    private String columns() {
        return "tenant, id, version, definition::text AS definition, created_at, updated_at"
            + (isRules() ? ", published_partition, published_offset" : "");
    }

    private String publishedReset() {
        return isRules() ? ", published_partition = NULL, published_offset = NULL" : "";
    }

    private Optional<Stored> select(Connection c, String sql, String tenant, UUID id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, tenant);
            ps.setObject(2, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(row(rs)) : Optional.empty();
            }
        }
    }

    private Stored row(ResultSet rs) throws SQLException {
        Integer partition = null;
        Long offset = null;
        if (isRules()) {
            partition = (Integer) rs.getObject("published_partition");
            offset = (Long) rs.getObject("published_offset");
        }
        return new Stored(rs.getString("tenant"), rs.getObject("id").toString(), rs.getInt("version"), rs.getString("definition"),
            rs.getTimestamp("created_at").toInstant(), rs.getTimestamp("updated_at").toInstant(), partition, offset);
    }
}
