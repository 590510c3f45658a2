package io.tally.model;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class EventCodecTest {

    @Test
    void roundTripsEveryField() {
        Map<String, Object> attributes = new LinkedHashMap<>();
        attributes.put("team", "Lakers");
        attributes.put("score", 101.5);
        attributes.put("home", true);
        Event event = new Event("acme", "e-1", "sports", 1_795_000_000_123L, "score", "US-CA", 3.25, attributes, "feed-7");
        assertEquals(event, EventCodec.decode(EventCodec.encode(event)));
    }

    @Test
    void roundTripsAMinimalEventWithUnicode() {
        Event event = new Event("acme", "e:2", "スポーツ ⚽", 0L, null, null, null, Map.of(), null);
        Event decoded = EventCodec.decode(EventCodec.encode(event));
        assertEquals(event, decoded);
        assertEquals(Map.of(), decoded.attributes());
    }

    @Test
    void rejectsRecordsWithoutTheRequiredFields() {
        assertThrows(IllegalArgumentException.class, () -> EventCodec.decode("{\"tn\":\"a\",\"id\":\"x\"}".getBytes(StandardCharsets.UTF_8)));
        assertThrows(IllegalArgumentException.class, () -> EventCodec.decode("[1]".getBytes(StandardCharsets.UTF_8)));
        assertThrows(IllegalArgumentException.class, () -> EventCodec.decode("{\"tn\":".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void keysByTenantAndCategory() {
        assertEquals("acme:1", new Event("acme", "1", "sports", 0, null, null, null, null, null).partitionKey());
    }
}
