package io.tally.rules.persistence;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** The {@code rule_backfills} table: one row per backfilled rule version. Runs on the caller's transaction. */
final class Backfills {

    /** One backfilled version: its span, where it starts, how it stands, and the record serving meanwhile. */
    record Row(String span, Instant from, String state, String reason, String previousJson) {
    }

    private Backfills() {
    }

    static void insert(Connection c, String tenant, String id, int version, String span, Instant from, String previousJson, Instant now)
        throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO rule_backfills (tenant, id, version, span, from_at, state, previous, created_at)"
            + " VALUES (?, ?, ?, ?, ?, 'running', ?::jsonb, ?)")) {
            ps.setString(1, tenant);
            ps.setObject(2, UUID.fromString(id));
            ps.setInt(3, version);
            ps.setString(4, span);
            ps.setTimestamp(5, Timestamp.from(from));
            ps.setString(6, previousJson);
            ps.setTimestamp(7, Timestamp.from(now));
            ps.executeUpdate();
        }
    }

    static Optional<Row> find(Connection c, String tenant, String id, int version) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT span, from_at, state, reason, previous::text FROM rule_backfills"
            + " WHERE tenant = ? AND id = ? AND version = ?")) {
            ps.setString(1, tenant);
            ps.setObject(2, UUID.fromString(id));
            ps.setInt(3, version);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(row(rs)) : Optional.empty();
            }
        }
    }

    /** The rows of these rules' current versions (id → version), keyed by id. */
    static Map<String, Row> current(Connection c, String tenant, Map<String, Integer> versions) throws SQLException {
        Map<String, Row> rows = new HashMap<>();
        if (versions.isEmpty()) {
            return rows;
        }
        Collection<String> ids = versions.keySet();
        try (PreparedStatement ps = c.prepareStatement("SELECT id::text, version, span, from_at, state, reason, previous::text FROM rule_backfills"
            + " WHERE tenant = ? AND id = ANY (?::uuid[])")) {
            ps.setString(1, tenant);
            ps.setArray(2, c.createArrayOf("text", ids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String id = rs.getString(1);
                    if (versions.get(id) == rs.getInt(2)) {
                        rows.put(id, new Row(rs.getString(3), rs.getTimestamp(4).toInstant(), rs.getString(5), rs.getString(6), rs.getString(7)));
                    }
                }
            }
        }
        return rows;
    }

    /** Ends a running backfill ({@code done} or {@code failed}); false when it was not running (ended before). */
    static boolean end(Connection c, String tenant, String id, int version, String state, String reason, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE rule_backfills SET state = ?, reason = ?, ended_at = ?"
            + " WHERE tenant = ? AND id = ? AND version = ? AND state = 'running'")) {
            ps.setString(1, state);
            ps.setString(2, reason);
            ps.setTimestamp(3, Timestamp.from(now));
            ps.setString(4, tenant);
            ps.setObject(5, UUID.fromString(id));
            ps.setInt(6, version);
            return ps.executeUpdate() == 1;
        }
    }

    static void deleteAll(Connection c, String tenant, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM rule_backfills WHERE tenant = ? AND id = ?")) {
            ps.setString(1, tenant);
            ps.setObject(2, UUID.fromString(id));
            ps.executeUpdate();
        }
    }

    private static Row row(ResultSet rs) throws SQLException {
        return new Row(rs.getString(1), rs.getTimestamp(2).toInstant(), rs.getString(3), rs.getString(4), rs.getString(5));
    }
}
