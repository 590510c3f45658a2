package io.tally.rules.persistence;

import io.micronaut.core.annotation.Nullable;
import io.tally.model.DeadLetter;
import jakarta.inject.Singleton;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The dead letters of each rule: how many events were quarantined for it, and the latest reason. */
@Singleton
public class DeadLetterStore {

    /** A rule's dead letters: count, and the reason and time of the latest (null when there are none). */
    public record Summary(long count, @Nullable String lastReason, @Nullable Instant lastAt) {

        public static final Summary NONE = new Summary(0, null, null);
    }

    private final Database db;

    public DeadLetterStore(Database db) {
        this.db = db;
    }

    /** Records these dead letters in one transaction; a letter recorded before is ignored. */
    public void record(List<DeadLetter> letters) {
        if (letters.isEmpty()) {
            return;
        }
        db.write(status -> {
            try (PreparedStatement insert = status.getConnection().prepareStatement("""
                INSERT INTO dead_letters (tenant, rule_id, source_partition, source_offset, rule_version, reason, quarantined_at)
                VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""")) {
                for (DeadLetter letter : letters) {
                    insert.setString(1, letter.tenant());
                    insert.setString(2, letter.ruleId());
                    insert.setInt(3, letter.sourcePartition());
                    insert.setLong(4, letter.sourceOffset());
                    insert.setInt(5, letter.ruleVersion());
                    insert.setString(6, letter.reason());
                    insert.setTimestamp(7, Timestamp.from(letter.at()));
                    insert.addBatch();
                }
                insert.executeBatch();
                return null;
            }
        });
    }

    /** The summary of each of these rules of a tenant (rules without dead letters are absent); one query. */
    public Map<String, Summary> summaries(String tenant, Collection<String> ruleIds) {
        if (ruleIds.isEmpty()) {
            return Map.of();
        }
        return db.read(status -> {
            Connection c = status.getConnection();
            try (PreparedStatement query = c.prepareStatement("""
                SELECT DISTINCT ON (rule_id) rule_id, count(*) OVER (PARTITION BY rule_id), reason, quarantined_at
                FROM dead_letters WHERE tenant = ? AND rule_id = ANY (?)
                ORDER BY rule_id, quarantined_at DESC, source_offset DESC""")) {
                query.setString(1, tenant);
                query.setArray(2, c.createArrayOf("text", ruleIds.toArray()));
                Map<String, Summary> summaries = new HashMap<>();
                try (ResultSet rows = query.executeQuery()) {
                    while (rows.next()) {
                        summaries.put(rows.getString(1), new Summary(rows.getLong(2), rows.getString(3), rows.getTimestamp(4).toInstant()));
                    }
                }
                return summaries;
            }
        });
    }
}
