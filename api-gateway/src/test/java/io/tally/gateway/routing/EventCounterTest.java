package io.tally.gateway.routing;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EventCounterTest {

    private static int json(String body) {
        return EventCounter.count(body.getBytes(StandardCharsets.UTF_8), false);
    }

    @Test
    void countsTheEventsArrayWithoutParsingEvents() {
        assertEquals(3, json("{\"events\": [{\"id\": \"a\", \"attributes\": {\"x\": [1, 2]}}, {}, {\"id\": \"c\"}]}"));
        assertEquals(500, json("{\"events\": [" + "{},".repeat(499) + "{}]}"));
    }

    @Test
    void countsOneForASingleEventAndForWhatIsNotJson() {
        assertEquals(1, json("{\"id\": \"a\", \"category\": \"c\"}"));
        assertEquals(1, json("not json"));
        assertEquals(1, json("{\"events\": []}"));
    }

    @Test
    void countsNonBlankNdjsonLines() {
        assertEquals(3, EventCounter.count("{}\n\n{}\r\n  \n{}".getBytes(StandardCharsets.UTF_8), true));
        assertEquals(2, EventCounter.count("{}\n{}\n".getBytes(StandardCharsets.UTF_8), true));
    }
}
