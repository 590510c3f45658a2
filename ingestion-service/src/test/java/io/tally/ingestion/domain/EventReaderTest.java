package io.tally.ingestion.domain;

import io.tally.model.Event;
import io.tally.model.JsonPointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EventReaderTest {

    private static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");
    private final EventReader reader = new EventReader(Clock.fixed(NOW, ZoneOffset.UTC));

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String event(String id) {
        return "{\"id\":\"" + id + "\",\"category\":\"sports\",\"time\":\"2026-11-23T09:59:00Z\"}";
    }

    @Test
    void readsASingleEventWithEveryField() {
        ParsedEvents parsed = reader.readJson("acme", utf8("""
            {"id":"g-1","category":"sports","time":"2026-11-23T11:59:30.123+02:00","type":"score","geo":"US-CA",
             "value":2.5,"attributes":{"team":"Lakers","points":3,"home":true},"source":"feed"}"""));
        assertTrue(parsed.valid(), parsed.violations().toString());
        Event e = parsed.events().getFirst();
        assertEquals("acme", e.tenant());
        assertEquals(Instant.parse("2026-11-23T09:59:30.123Z").toEpochMilli(), e.timeMillis());
        assertEquals(2.5, e.value());
        assertEquals("Lakers", e.attributes().get("team"));
        assertEquals(3.0, e.attributes().get("points"));
        assertEquals(Boolean.TRUE, e.attributes().get("home"));
    }

    @Test
    void readsABatchAndNdjsonInOrder() {
        ParsedEvents batch = reader.readJson("acme", utf8("{\"events\":[" + event("a") + "," + event("b") + "]}"));
        assertEquals(List.of("a", "b"), batch.events().stream().map(Event::id).toList());
        ParsedEvents ndjson = reader.readNdjson("acme", utf8(event("a") + "\r\n" + event("b") + "\n"));
        assertEquals(List.of("a", "b"), ndjson.events().stream().map(Event::id).toList());
    }

    @Test
    void acceptsAThousandEventsAndRejectsOneMore() {
        String thousand = IntStream.range(0, 1000).mapToObj(i -> event("e" + i)).collect(Collectors.joining(","));
        assertEquals(1000, reader.readJson("t", utf8("{\"events\":[" + thousand + "]}")).events().size());
        ParsedEvents tooMany = reader.readJson("t", utf8("{\"events\":[" + thousand + "," + event("x") + "]}"));
        assertEquals(List.of(new Violation("/events", "must hold 1 to 1000 events; it holds 1001")), tooMany.violations());
        String lines = IntStream.range(0, 1001).mapToObj(i -> event("e" + i)).collect(Collectors.joining("\n"));
        assertEquals("", reader.readNdjson("t", utf8(lines)).violations().getFirst().pointer());
    }

    @Test
    void acceptsAnEventFiveMinutesAheadButNotLater() {
        assertTrue(reader.readJson("t", utf8("{\"id\":\"a\",\"category\":\"c\",\"time\":\"2026-11-23T10:05:00Z\"}")).valid());
        ParsedEvents ahead = reader.readJson("t", utf8("{\"id\":\"a\",\"category\":\"c\",\"time\":\"2026-11-23T10:05:00.001Z\"}"));
        assertEquals(List.of(new Violation("/time", "is more than 5 minutes in the future")), ahead.violations());
    }

    @Test
    void namesEveryProblemOfEveryEventAndKeepsNone() {
        ParsedEvents parsed = reader.readJson("t", utf8("{\"events\":[" + event("ok")
            + ",{\"id\":\"bad id\",\"category\":\"\",\"time\":\"yesterday\",\"value\":\"7\",\"extra\":1}]}"));
        assertEquals(List.of(), parsed.events());
        assertEquals(List.of(
            new Violation("/events/1/id", "must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'"),
            new Violation("/events/1/category", "must be 1 to 100 characters long"),
            new Violation("/events/1/time", "must be an RFC 3339 timestamp with an offset, such as 2026-11-23T10:00:00Z"),
            new Violation("/events/1/value", "must be a number"),
            new Violation("/events/1/extra", "unknown field")), parsed.violations());
    }

    @Test
    void saysANumberIsTooLongWithoutThePartersInternals() {
        ParsedEvents parsed = reader.readJson("t", utf8("{\"id\":\"a\",\"category\":\"c\",\"time\":\"2026-11-23T09:00:00Z\",\"value\":"
            + "9".repeat(5000) + "}"));
        assertEquals(List.of(), parsed.events());
        String message = parsed.violations().getFirst().message();
        assertTrue(message.contains("1000 digits"), message);
        assertTrue(!message.contains("StreamReadConstraints") && !message.contains("()"), message);
    }

    static Stream<Arguments> invalidBodies() {
        String ok = "\"id\":\"a\",\"category\":\"c\",\"time\":\"2026-11-23T09:00:00Z\"";
        return Stream.of(
            Arguments.of("{\"category\":\"c\",\"time\":\"2026-11-23T09:00:00Z\"}", "/id"),
            Arguments.of("{\"id\":\"a\",\"time\":\"2026-11-23T09:00:00Z\"}", "/category"),
            Arguments.of("{\"id\":\"a\",\"category\":\"c\"}", "/time"),
            Arguments.of("{\"id\":null," + "\"category\":\"c\",\"time\":\"2026-11-23T09:00:00Z\"}", "/id"),
            Arguments.of("{\"id\":7,\"category\":\"c\",\"time\":\"2026-11-23T09:00:00Z\"}", "/id"),
            Arguments.of("{\"id\":\"" + "x".repeat(129) + "\",\"category\":\"c\",\"time\":\"2026-11-23T09:00:00Z\"}", "/id"),
            Arguments.of("{\"id\":\"a\",\"category\":\"" + "c".repeat(101) + "\",\"time\":\"2026-11-23T09:00:00Z\"}", "/category"),
            Arguments.of("{" + ok + ",\"time2\":1}", "/time2"),
            Arguments.of("{\"id\":\"a\",\"category\":\"c\",\"time\":\"2026-11-23T09:00:00\"}", "/time"),
            Arguments.of("{\"id\":\"a\",\"category\":\"c\",\"time\":\"2026-13-23T09:00:00Z\"}", "/time"),
            Arguments.of("{\"id\":\"a\",\"category\":\"c\",\"time\":1795000000}", "/time"),
            Arguments.of("{" + ok + ",\"type\":\"" + "t".repeat(101) + "\"}", "/type"),
            Arguments.of("{" + ok + ",\"geo\":\"" + "g".repeat(65) + "\"}", "/geo"),
            Arguments.of("{" + ok + ",\"source\":[]}", "/source"),
            Arguments.of("{" + ok + ",\"value\":1e400}", "/value"),
            Arguments.of("{" + ok + ",\"attributes\":[]}", "/attributes"),
            Arguments.of("{" + ok + ",\"attributes\":{\"bad key\":1}}", "/attributes/bad key"),
            Arguments.of("{" + ok + ",\"attributes\":{\"a/b\":1}}", "/attributes/a~1b"),
            Arguments.of("{" + ok + ",\"attributes\":{\"k\":null}}", "/attributes/k"),
            Arguments.of("{" + ok + ",\"attributes\":{\"k\":{\"x\":1}}}", "/attributes/k"),
            Arguments.of("{" + ok + ",\"attributes\":{\"k\":\"" + "v".repeat(257) + "\"}}", "/attributes/k"),
            Arguments.of("{" + ok + ",\"attributes\":{" + IntStream.range(0, 33).mapToObj(i -> "\"k" + i + "\":1").collect(Collectors.joining(",")) + "}}", "/attributes"),
            Arguments.of("{\"events\":[]}", "/events"),
            Arguments.of("{\"events\":{}}", "/events"),
            Arguments.of("{\"events\":[1]}", "/events/0"),
            Arguments.of("{\"events\":[{" + ok + "}],\"more\":true}", "/more"),
            Arguments.of("[{" + ok + "}]", ""),
            Arguments.of("{" + ok + "", ""),
            Arguments.of("{" + ok + "} {}", ""),
            Arguments.of("{" + ok + ",\"id\":\"b\"}", ""),
            Arguments.of("", ""));
    }

    @ParameterizedTest
    @MethodSource("invalidBodies")
    void rejectsInvalidJsonWithAPointer(String body, String pointer) {
        ParsedEvents parsed = reader.readJson("t", utf8(body));
        assertEquals(List.of(), parsed.events());
        assertTrue(parsed.violations().stream().anyMatch(v -> v.pointer().equals(pointer)),
            "expected a problem at '" + pointer + "' but got " + parsed.violations());
    }

    @Test
    void rejectsBadUtf8() {
        byte[] body = utf8("{\"id\":\"a\",\"category\":\"cX\",\"time\":\"2026-11-23T09:00:00Z\"}");
        body[new String(body, StandardCharsets.UTF_8).indexOf('X')] = (byte) 0xC3; // a lead byte followed by an ASCII quote
        ParsedEvents parsed = reader.readJson("t", body);
        assertEquals("", parsed.violations().getFirst().pointer());
        assertTrue(parsed.violations().getFirst().message().contains("UTF-8"), parsed.violations().toString());
    }

    @Test
    void pointsAtTheNdjsonLine() {
        ParsedEvents parsed = reader.readNdjson("t", utf8(event("a") + "\n\n{\"id\":\"b\"}\nnot json\n"));
        assertEquals(List.of("/1", "/2/category", "/2/time", "/3"), parsed.violations().stream().map(Violation::pointer).toList());
    }

    @Test
    void escapesPointerTokens() {
        assertEquals("a~1b~0c", JsonPointer.escape("a/b~c"));
    }
}
