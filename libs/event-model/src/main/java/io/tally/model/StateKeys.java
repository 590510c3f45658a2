package io.tally.model;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Where aggregation state lives in Redis Cluster, shared by the writer (aggregation) and the readers
 * (query, subscriptions). All keys of one shard of a rule share a hash tag ({@link #ruleTag}: {@code {r:tenant:rule}}
 * for the first), so one Lua script applies a batch to a shard atomically; partition keys share {@code {p:partition}}.
 */
public final class StateKeys {

    /** Separates the parts of a hash field; never appears raw inside the JSON-encoded parts. */
    public static final char SEP = '\u001f';

    private StateKeys() {
    }

    /**
     * The hash tag every key of a rule's first shard shares, {@code {r:tenant:rule}}: one Lua script applies a batch to
     * it atomically. A rule's other shards have tags of their own, on other slots (the results library's {@code RuleShards}).
     */
    public static String ruleTag(String tenant, String ruleId) {
        return "{r:" + tenant + ":" + ruleId + "}";
    }

    /** Per source partition: the last offset applied to this rule (the fence). */
    public static String fence(String tenant, String ruleId) {
        return fence(ruleTag(tenant, ruleId));
    }

    /** Per source partition: the last offset applied to the shard of a rule with this tag (its fence). */
    public static String fence(String ruleTag) {
        return ruleTag + ":fence";
    }

    /**
     * Per source partition: the last offset the backfill of the version whose shard has this tag applied (the engine's own
     * fence takes over past the {@link #handoff}).
     */
    public static String backfillFence(String ruleTag) {
        return ruleTag + ":bfence";
    }

    /**
     * Per source partition: where the engine took over a version being backfilled (the last offset it left to the
     * backfill; it counts the version from the next one on). Written once, before the engine's first batch with the version.
     */
    public static String handoff(String ruleTag) {
        return ruleTag + ":handoff";
    }

    /** Which aggregation instance runs the backfill of the version whose first shard has this tag (a lease with an expiry). */
    public static String backfillLease(String ruleTag) {
        return ruleTag + ":lease";
    }

    /**
     * Rule-level counters: {@code seq} (the update sequence), {@code late} (events behind the watermark, not counted),
     * {@code closed} and {@code watermark} (the finality mark).
     */
    public static String meta(String tenant, String ruleId) {
        return meta(ruleTag(tenant, ruleId));
    }

    /** The counters of the shard of a rule with this tag ({@link #meta(String, String)}). */
    public static String meta(String ruleTag) {
        return ruleTag + ":meta";
    }

    /**
     * One window of one rule version: fields {@code group SEP} (the group's presence),
     * {@code group SEP agg} (count, sum, min, max, rate), {@code group SEP agg SEP s|n} (avg's sum and
     * count) and {@code SEP g} (how many groups it holds); groups and values are JSON. Topk counts live in
     * {@link #topk} sorted sets, distinct counts in {@link #distinct} HyperLogLogs.
     */
    public static String window(String tenant, String ruleId, int version, long windowStart) {
        return window(ruleTag(tenant, ruleId), version, windowStart);
    }

    /** One window of the shard of a rule version with this tag. */
    public static String window(String ruleTag, int version, long windowStart) {
        return window(ruleTag, Integer.toString(version), windowStart);
    }

    /**
     * One window of the shard of a rule version with this tag, the version written with its tier: {@code 3} for the rule's
     * own windows, {@code 3:r3600000} for its rollup of that resolution (in ms).
     */
    public static String window(String ruleTag, String versionAndTier, long windowStart) {
        return windowPrefix(ruleTag, versionAndTier) + windowStart;
    }

    /** What the keys of every window of the shard of a rule version (and tier) with this tag start with. */
    public static String windowPrefix(String ruleTag, String versionAndTier) {
        return ruleTag + ":v" + versionAndTier + ":w:";
    }

    /**
     * The HyperLogLog of one distinct aggregation of one group in one window. The group part is the
     * first 16 hex digits of the SHA-1 of the group's JSON, which a Lua script can compute too
     * ({@code redis.sha1hex}), so a reader finds a window's counts in the same atomic script.
     */
    public static String distinct(String tenant, String ruleId, int version, long windowStart, String groupJson, String aggregation) {
        return distinct(ruleTag(tenant, ruleId), version, windowStart, groupJson, aggregation);
    }

    /** As {@link #distinct(String, String, int, long, String, String)}, in the shard with this tag. */
    public static String distinct(String ruleTag, int version, long windowStart, String groupJson, String aggregation) {
        return distinctPrefix(ruleTag, version) + windowStart + ":" + groupHash(groupJson) + ":" + aggregation;
    }

    /**
     * The sorted set of one topk aggregation of one group in one window: a Space-Saving sketch of at most a fixed
     * number of counters (value → count), next to the distinct keys ({@code :t:} for {@code :h:}).
     */
    public static String topk(String tenant, String ruleId, int version, long windowStart, String groupJson, String aggregation) {
        return topk(ruleTag(tenant, ruleId), version, windowStart, groupJson, aggregation);
    }

    /** As {@link #topk(String, String, int, long, String, String)}, in the shard with this tag. */
    public static String topk(String ruleTag, int version, long windowStart, String groupJson, String aggregation) {
        return ruleTag + ":v" + version + ":t:" + windowStart + ":" + groupHash(groupJson) + ":" + aggregation;
    }

    /** What every distinct key of one rule version starts with. */
    public static String distinctPrefix(String tenant, String ruleId, int version) {
        return distinctPrefix(ruleTag(tenant, ruleId), version);
    }

    /** What every distinct key of the shard of a rule version with this tag starts with. */
    public static String distinctPrefix(String ruleTag, int version) {
        return distinctPrefix(ruleTag, Integer.toString(version));
    }

    /** As {@link #distinctPrefix(String, int)}, the version written with its tier ({@link #window(String, String, long)}). */
    public static String distinctPrefix(String ruleTag, String versionAndTier) {
        return ruleTag + ":v" + versionAndTier + ":h:";
    }

    static String groupHash(String groupJson) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest(groupJson.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-1", e);
        }
    }

    /** Per partition: the last wall-clock time (epoch millis) the engine had read everything the partition held. */
    public static String caughtUp(int partition) {
        return "{p:" + partition + "}:caughtup";
    }

    /** Per partition: when (wall clock, epoch millis) each tenant's events were last seen there. */
    public static String lastSeen(int partition) {
        return "{p:" + partition + "}:seen";
    }

    /** Per partition: each tenant's watermark there (epoch millis). */
    public static String watermarks(int partition) {
        return "{p:" + partition + "}:wm";
    }

    /**
     * Per partition and tenant: the ids that arrived in one generation of the watermark (of {@code widthMillis}),
     * each with the offset it was first seen at, so a replayed batch recognises its own events (same offset)
     * as not duplicates.
     */
    public static String dedup(int partition, String tenant, long widthMillis, long generation) {
        return "{p:" + partition + "}:ids:" + tenant + ":" + widthMillis + ":" + generation;
    }

    /**
     * Counters a topk aggregation keeps per group and window (a Space-Saving sketch in one sorted set): ten per
     * reported value, at least 100, at most 1,000 (a count is then at most events / capacity above the true one).
     */
    public static int topkCapacity(int k) {
        return Math.max(100, Math.min(1_000, 10 * k));
    }
}
