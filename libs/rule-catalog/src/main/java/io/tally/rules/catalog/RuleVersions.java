package io.tally.rules.catalog;

import io.tally.model.RuleRecord;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the catalog keeps of the records on {@code tally.rules}: each rule's newest version (a backfilled version comes twice:
 * backfilling, then once its backfill ended; {@link RuleRecord#supersedes}). A record not newer than the one held changes nothing (the outbox relay may send a row twice); a tombstone deletes the rule and remembers the
 * version it deleted, so a re-sent older version cannot bring the rule back, while a newer one (the rule created
 * again) can.
 */
final class RuleVersions {

    private final Map<String, RuleRecord> rules = new ConcurrentHashMap<>();
    /** Deleted rules → the last version their tombstone deleted. */
    private final Map<String, Integer> deleted = new ConcurrentHashMap<>();

    /** A rule's record; returns the change it makes, or null when it makes none. */
    RuleCatalog.Change put(String tenant, String id, RuleRecord rule) {
        String key = RuleRecord.key(tenant, id);
        RuleRecord held = rules.get(key);
        if (held != null && !rule.supersedes(held)) {
            return null;
        }
        Integer deletedAt = deleted.get(key);
        if (deletedAt != null && rule.version() <= deletedAt) {
            return null;
        }
        rules.put(key, rule);
        return new RuleCatalog.Change(tenant, id, rule);
    }

    /**
     * A tombstone that deleted the rule at {@code deletedVersion} ({@link Integer#MAX_VALUE} when unknown: every
     * version); returns the change it makes, or null when the rule was not held.
     */
    RuleCatalog.Change delete(String tenant, String id, int deletedVersion) {
        String key = RuleRecord.key(tenant, id);
        deleted.put(key, deletedVersion);
        return rules.remove(key) != null ? new RuleCatalog.Change(tenant, id, null) : null;
    }

    RuleRecord get(String tenant, String id) {
        return rules.get(RuleRecord.key(tenant, id));
    }

    Collection<RuleRecord> all() {
        return rules.values();
    }

    int size() {
        return rules.size();
    }
}
