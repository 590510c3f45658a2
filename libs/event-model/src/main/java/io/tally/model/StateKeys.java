package io.tally.model;

/**
 * Where aggregation state lives in Redis Cluster, shared by the writer (aggregation) and the readers
 * (query, subscriptions). All of one rule's keys share the hash tag {@code {r:tenant:rule}}, so one
 * Lua script applies a batch to a rule atomically; partition keys share {@code {p:partition}}.
 */
public final class StateKeys {

    /** Separates the parts of a hash field; never appears raw inside the JSON-encoded parts. */
    public static final char SEP = '\u001f';

    private StateKeys() {
    }

    private static String rule(String tenant, String ruleId) {
        return "{r:" + tenant + ":" + ruleId + "}";
    }

    /** Per source partition: the last offset applied to this rule (the fence). */
    public static String fence(String tenant, String ruleId) {
        return rule(tenant, ruleId) + ":fence";
    }

    /** Rule-level counters: {@code late} (events behind the watermark, not counted). */
    public static String meta(String tenant, String ruleId) {
        return rule(tenant, ruleId) + ":meta";
    }

    /**
     * One window of one rule version: fields {@code group SEP} (the group's presence),
     * {@code group SEP agg} (count, sum, min, max, rate), {@code group SEP agg SEP s|n} (avg's sum and
     * count) and {@code group SEP agg SEP value} (topk counts); groups and values are JSON.
     */
    public static String window(String tenant, String ruleId, int version, long windowStart) {
        return rule(tenant, ruleId) + ":v" + version + ":w:" + windowStart;
    }

    /** The HyperLogLog of one distinct aggregation of one group in one window. */
    public static String distinct(String tenant, String ruleId, int version, long windowStart, String groupJson, String aggregation) {
        return rule(tenant, ruleId) + ":v" + version + ":h:" + windowStart + ":" + Long.toHexString(fnv1a64(groupJson)) + ":" + aggregation;
    }

    /** Per partition: each tenant's watermark there (epoch millis). */
    public static String watermarks(int partition) {
        return "{p:" + partition + "}:wm";
    }

    /** Per partition and tenant: the ids seen in one event-time bucket (dedup horizon). */
    public static String dedup(int partition, String tenant, long bucket) {
        return "{p:" + partition + "}:d:" + tenant + ":" + bucket;
    }

    static long fnv1a64(String s) {
        long hash = 0xcbf29ce484222325L;
        for (int i = 0; i < s.length(); i++) {
            hash ^= s.charAt(i);
            hash *= 0x100000001b3L;
        }
        return hash;
    }
}
