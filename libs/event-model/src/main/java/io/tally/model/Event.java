package io.tally.model;

import java.util.Map;

/**
 * An accepted event as it travels on {@link Topics#EVENTS}.
 *
 * @param tenant     the producer's tenant (from its token, never from the body)
 * @param id         unique per tenant; duplicates are counted once
 * @param category   required grouping dimension
 * @param timeMillis event time, Unix epoch milliseconds
 * @param type       optional, may be null
 * @param geo        optional country or region code, may be null
 * @param value      optional finite number, may be null
 * @param attributes string, finite number or boolean values; never null (empty when absent)
 * @param source     optional, may be null
 */
public record Event(String tenant, String id, String category, long timeMillis, String type, String geo,
                    Double value, Map<String, Object> attributes, String source) {

    public Event {
        attributes = attributes == null ? Map.of() : attributes;
    }

    /**
     * The Kafka key: tenant and id. Every copy of an event meets on one partition whatever its category or time,
     * so one partition's dedup index sees all of them; and a hot category spreads over every partition by itself.
     */
    public String partitionKey() {
        return tenant + ":" + id;
    }
}
