package io.tally.rules.persistence;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.UUID;

/**
 * The outbox side of a change: one row INSERTed in the change's own transaction (Debezium / eventuate
 * style). The relay publishes rows with the aggregate id as the Kafka key and the row id as a header.
 */
final class Outbox {

    static final String RULE = "rule";
    static final String UPSERTED = "RuleUpserted";
    static final String DELETED = "RuleDeleted";

    private Outbox() {
    }

    /**
     * Appends a row. Callers hold the aggregate's row lock, so one aggregate's rows get rising {@code seq}
     * in commit order, which is the order the relay publishes them in.
     */
    static void append(Connection c, String aggregateId, String type, String payloadJson) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
            "INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload) VALUES (?, ?, ?, ?, ?::jsonb)")) {
            ps.setObject(1, UUID.randomUUID());
            ps.setString(2, RULE);
            ps.setString(3, aggregateId);
            ps.setString(4, type);
            ps.setString(5, payloadJson);
            ps.executeUpdate();
        }
    }
}
