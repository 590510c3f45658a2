package io.tally.subscription.messaging;

import io.tally.model.Event;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class TailFeedTest {

    @Test
    void rendersAnEventAsProducersWroteItWithWhenTheLogTookIt() {
        Event e = new Event("t", "e1", "sports", 1_700_000_000_123L, null, "US", 2.5, Map.of("team", "lions"), null);
        assertEquals(Map.of("id", "e1", "category", "sports", "time", "2023-11-14T22:13:20.123Z", "geo", "US", "value", 2.5,
            "attributes", Map.of("team", "lions"), "loggedAt", "2023-11-14T22:13:21Z"), TailFeed.render(e, 1_700_000_001_000L));
    }

    @Test
    void aTailSendsAFewEventsPerMessageAndCountsTheRest() {
        List<String> sent = new ArrayList<>();
        TailFeed.Tail tail = new TailFeed.Tail("t", sent::add);
        assertNull(tail.drain(), "nothing arrived: no message");
        assertNull(tail.announcement(), "not following the log's end yet");
        for (int i = 0; i < TailFeed.PER_MESSAGE + 7; i++) {
            tail.offer(Map.of("id", "e" + i));
        }
        Map<String, Object> message = tail.drain();
        assertEquals("events", message.get("type"));
        assertEquals(TailFeed.PER_MESSAGE, ((List<?>) message.get("events")).size());
        assertEquals(7L, message.get("skipped"));
        assertNull(tail.drain(), "drained: the next message waits for new events");
    }
}
