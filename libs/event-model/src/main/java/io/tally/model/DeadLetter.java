package io.tally.model;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * One record of {@link Topics#DEAD_LETTERS}: an event the aggregation engine could not apply to a rule (or
 * could not read at all), as its original bytes, with why and where from in headers. The source partition
 * and offset with the rule identify it: a batch quarantined twice (a crash between publishing and moving
 * the rule's fence) is the same dead letter twice, counted once.
 *
 * @param tenant          the event's tenant; null when the event could not be read
 * @param ruleId          the rule it could not be applied to; null for an unreadable event
 * @param ruleVersion     that rule's version then (0 for none)
 * @param sourcePartition partition of {@link Topics#EVENTS} it came from
 * @param sourceOffset    its offset there
 * @param reason          why, in words an operator can act on
 * @param at              when it was quarantined
 */
public record DeadLetter(String tenant, String ruleId, int ruleVersion, int sourcePartition, long sourceOffset, String reason,
                         Instant at) {

    public static final String TENANT = "tally.tenant";
    public static final String RULE = "tally.rule";
    public static final String RULE_VERSION = "tally.rule-version";
    public static final String SOURCE_PARTITION = "tally.source-partition";
    public static final String SOURCE_OFFSET = "tally.source-offset";
    public static final String REASON = "tally.reason";
    public static final String AT = "tally.at";

    /** The record key: {@code tenant:ruleId}, so one rule's dead letters keep their order. */
    public String key() {
        return (tenant == null ? "" : tenant) + ":" + (ruleId == null ? "" : ruleId);
    }

    /** The headers the record carries (absent values left out). */
    public Map<String, byte[]> headers() {
        Map<String, byte[]> headers = new LinkedHashMap<>();
        put(headers, TENANT, tenant);
        put(headers, RULE, ruleId);
        put(headers, RULE_VERSION, Integer.toString(ruleVersion));
        put(headers, SOURCE_PARTITION, Integer.toString(sourcePartition));
        put(headers, SOURCE_OFFSET, Long.toString(sourceOffset));
        put(headers, REASON, reason);
        put(headers, AT, at.toString());
        return headers;
    }

    /** Reads the headers back; a header missing or unreadable gives an {@link IllegalArgumentException}. */
    public static DeadLetter fromHeaders(Function<String, byte[]> header) {
        try {
            return new DeadLetter(text(header, TENANT), text(header, RULE), Integer.parseInt(required(header, RULE_VERSION)),
                Integer.parseInt(required(header, SOURCE_PARTITION)), Long.parseLong(required(header, SOURCE_OFFSET)),
                required(header, REASON), Instant.parse(required(header, AT)));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a dead letter: " + e.getMessage(), e);
        }
    }

    private static void put(Map<String, byte[]> headers, String name, String value) {
        if (value != null) {
            headers.put(name, value.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static String text(Function<String, byte[]> header, String name) {
        byte[] value = header.apply(name);
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    private static String required(Function<String, byte[]> header, String name) {
        String value = text(header, name);
        if (value == null) {
            throw new IllegalArgumentException("header " + name + " is missing");
        }
        return value;
    }
}
