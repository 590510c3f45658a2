package io.tally.ingestion.domain;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import io.tally.model.Event;
import io.tally.model.JsonPointer;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads and validates the events of one ingest request, as {@code API.md} defines them: one JSON
 * event, {@code {"events": [...]}} or NDJSON. Validation is all-or-nothing and names every problem
 * with a JSON pointer ({@code /events/3/time}; for NDJSON the line index: {@code /3/time}).
 */
public final class EventReader {

    public static final int MAX_EVENTS = 1000;
    static final Duration MAX_AHEAD = Duration.ofMinutes(5);

    private static final JsonFactory JSON = JsonFactory.builder()
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .build();
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final Pattern ATTRIBUTE_KEY = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern RFC3339 = Pattern.compile(
        "\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?([Zz]|[+-]\\d{2}:\\d{2})");
    private static final int MAX_ATTRIBUTES = 32;

    private final Clock clock;

    public EventReader(Clock clock) {
        this.clock = clock;
    }

    /** A JSON body: one event object, or {@code {"events": [1..1000 events]}}. */
    public ParsedEvents readJson(String tenant, byte[] body) {
        List<Violation> violations = new ArrayList<>();
        List<Event> events = new ArrayList<>();
        long now = clock.millis();
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                violations.add(new Violation("", "the body must be a JSON object: one event, or {\"events\": [...]}"));
                return new ParsedEvents(List.of(), violations);
            }
            JsonToken first = p.nextToken();
            if (first == JsonToken.FIELD_NAME && "events".equals(p.currentName())) {
                readBatch(p, tenant, now, events, violations);
            } else {
                Event event = readEventFields(p, first, tenant, "", now, violations);
                if (event != null) {
                    events.add(event);
                }
            }
            if (p.nextToken() != null) {
                violations.add(new Violation("", "unexpected content after the JSON object"));
            }
        } catch (JsonParseException e) {
            violations.add(syntax(e));
        } catch (IOException e) {
            violations.add(new Violation("", unreadable(e)));
        }
        return result(events, violations);
    }

    private void readBatch(JsonParser p, String tenant, long now, List<Event> events, List<Violation> violations) throws IOException {
        if (p.nextToken() != JsonToken.START_ARRAY) {
            violations.add(new Violation("/events", "must be an array of 1 to " + MAX_EVENTS + " events"));
            p.skipChildren();
        } else {
            int index = 0;
            JsonToken token;
            while ((token = p.nextToken()) != JsonToken.END_ARRAY) {
                String pointer = "/events/" + index;
                if (index >= MAX_EVENTS) {
                    p.skipChildren();
                } else if (token != JsonToken.START_OBJECT) {
                    violations.add(new Violation(pointer, "must be an event object"));
                    p.skipChildren();
                } else {
                    Event event = readEventFields(p, p.nextToken(), tenant, pointer, now, violations);
                    if (event != null) {
                        events.add(event);
                    }
                }
                index++;
            }
            if (index == 0 || index > MAX_EVENTS) {
                violations.add(new Violation("/events", "must hold 1 to " + MAX_EVENTS + " events; it holds " + index));
            }
        }
        JsonToken next;
        while ((next = p.nextToken()) == JsonToken.FIELD_NAME) {
            violations.add(new Violation(JsonPointer.child("", p.currentName()), "unknown field; a batch has only \"events\""));
            p.nextToken();
            p.skipChildren();
        }
        if (next != JsonToken.END_OBJECT) {
            violations.add(new Violation("", "malformed batch object"));
        }
    }

    /** An NDJSON body: one event object per line, 1..1000 lines. */
    public ParsedEvents readNdjson(String tenant, byte[] body) {
        List<Violation> violations = new ArrayList<>();
        List<Event> events = new ArrayList<>();
        long now = clock.millis();
        List<byte[]> lines = splitLines(body);
        if (lines.isEmpty()) {
            violations.add(new Violation("", "the body must hold 1 to " + MAX_EVENTS + " lines, one event each"));
        } else if (lines.size() > MAX_EVENTS) {
            violations.add(new Violation("", "the body must hold 1 to " + MAX_EVENTS + " lines; it holds " + lines.size()));
        } else {
            for (int i = 0; i < lines.size(); i++) {
                String pointer = "/" + i;
                byte[] line = lines.get(i);
                if (isBlank(line)) {
                    violations.add(new Violation(pointer, "empty line; every line must be one event object"));
                    continue;
                }
                try (JsonParser p = JSON.createParser(line)) {
                    if (p.nextToken() != JsonToken.START_OBJECT) {
                        violations.add(new Violation(pointer, "must be an event object"));
                        continue;
                    }
                    Event event = readEventFields(p, p.nextToken(), tenant, pointer, now, violations);
                    if (p.nextToken() != null) {
                        violations.add(new Violation(pointer, "unexpected content after the event on this line"));
                    } else if (event != null) {
                        events.add(event);
                    }
                } catch (JsonParseException e) {
                    Violation v = syntax(e);
                    violations.add(new Violation(pointer, v.message()));
                } catch (IOException e) {
                    violations.add(new Violation(pointer, unreadable(e)));
                }
            }
        }
        return result(events, violations);
    }

    private static ParsedEvents result(List<Event> events, List<Violation> violations) {
        return violations.isEmpty() ? new ParsedEvents(List.copyOf(events), List.of()) : new ParsedEvents(List.of(), List.copyOf(violations));
    }

    /** Reads the fields of an event object whose START_OBJECT was consumed; {@code token} is the first token inside. */
    private Event readEventFields(JsonParser p, JsonToken token, String tenant, String at, long now, List<Violation> out) throws IOException {
        int before = out.size();
        String id = null;
        String category = null;
        Long time = null;
        String type = null;
        String geo = null;
        Double value = null;
        Map<String, Object> attributes = Map.of();
        String source = null;
        boolean sawId = false;
        boolean sawCategory = false;
        boolean sawTime = false;
        for (; token == JsonToken.FIELD_NAME; token = p.nextToken()) {
            String field = p.currentName();
            String pointer = JsonPointer.child(at, field);
            JsonToken v = p.nextToken();
            switch (field) {
                case "id" -> {
                    sawId = v != JsonToken.VALUE_NULL;
                    id = string(p, v, pointer, 1, 128, out, true);
                    if (id != null && !ID.matcher(id).matches()) {
                        out.add(new Violation(pointer, "must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'"));
                        id = null;
                    }
                }
                case "category" -> {
                    sawCategory = v != JsonToken.VALUE_NULL;
                    category = string(p, v, pointer, 1, 100, out, true);
                }
                case "time" -> {
                    sawTime = v != JsonToken.VALUE_NULL;
                    String text = string(p, v, pointer, 1, 64, out, true);
                    if (text != null) {
                        time = time(text, pointer, now, out);
                    }
                }
                case "type" -> type = string(p, v, pointer, 0, 100, out, false);
                case "geo" -> geo = string(p, v, pointer, 0, 64, out, false);
                case "source" -> source = string(p, v, pointer, 0, 100, out, false);
                case "value" -> value = number(p, v, pointer, out);
                case "attributes" -> attributes = attributes(p, v, pointer, out);
                default -> {
                    out.add(new Violation(pointer, "unknown field"));
                    p.skipChildren();
                }
            }
        }
        if (token != JsonToken.END_OBJECT) {
            out.add(new Violation(at, "malformed event object"));
        }
        if (!sawId) {
            out.add(new Violation(at + "/id", "is required"));
        }
        if (!sawCategory) {
            out.add(new Violation(at + "/category", "is required"));
        }
        if (!sawTime) {
            out.add(new Violation(at + "/time", "is required"));
        }
        if (out.size() > before) {
            return null;
        }
        return new Event(tenant, id, category, time, type, geo, value, attributes, source);
    }

    private static String string(JsonParser p, JsonToken v, String pointer, int min, int max, List<Violation> out, boolean required)
        throws IOException {
        if (v == JsonToken.VALUE_NULL) {
            if (required) {
                out.add(new Violation(pointer, "is required"));
            }
            return null;
        }
        if (v != JsonToken.VALUE_STRING) {
            out.add(new Violation(pointer, "must be a string"));
            p.skipChildren();
            return null;
        }
        String s = p.getText();
        int length = s.codePointCount(0, s.length());
        if (length < min || length > max) {
            out.add(new Violation(pointer, min > 0 ? "must be " + min + " to " + max + " characters long" : "must be at most " + max + " characters long"));
            return null;
        }
        return s;
    }

    private static Double number(JsonParser p, JsonToken v, String pointer, List<Violation> out) throws IOException {
        if (v == JsonToken.VALUE_NULL) {
            return null;
        }
        if (v != JsonToken.VALUE_NUMBER_INT && v != JsonToken.VALUE_NUMBER_FLOAT) {
            out.add(new Violation(pointer, "must be a number"));
            p.skipChildren();
            return null;
        }
        double d = p.getDoubleValue();
        if (!Double.isFinite(d)) {
            out.add(new Violation(pointer, "must be a finite number"));
            return null;
        }
        return d;
    }

    private static Long time(String text, String pointer, long now, List<Violation> out) {
        if (!RFC3339.matcher(text).matches()) {
            out.add(new Violation(pointer, "must be an RFC 3339 timestamp with an offset, such as 2026-11-23T10:00:00Z"));
            return null;
        }
        try {
            String normalized = text.toUpperCase(Locale.ROOT).replace(' ', 'T');
            long millis = OffsetDateTime.parse(normalized, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant().toEpochMilli();
            if (millis > now + MAX_AHEAD.toMillis()) {
                out.add(new Violation(pointer, "is more than 5 minutes in the future"));
                return null;
            }
            return millis;
        } catch (DateTimeParseException | ArithmeticException e) {
            out.add(new Violation(pointer, "is not a valid date and time"));
            return null;
        }
    }

    private static Map<String, Object> attributes(JsonParser p, JsonToken v, String pointer, List<Violation> out) throws IOException {
        if (v == JsonToken.VALUE_NULL) {
            return Map.of();
        }
        if (v != JsonToken.START_OBJECT) {
            out.add(new Violation(pointer, "must be an object"));
            p.skipChildren();
            return Map.of();
        }
        Map<String, Object> attributes = new LinkedHashMap<>();
        int count = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            String at = JsonPointer.child(pointer, key);
            JsonToken t = p.nextToken();
            count++;
            if (!ATTRIBUTE_KEY.matcher(key).matches()) {
                out.add(new Violation(at, "attribute names are 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'"));
                p.skipChildren();
                continue;
            }
            switch (t) {
                case VALUE_STRING -> {
                    String s = p.getText();
                    if (s.codePointCount(0, s.length()) > 256) {
                        out.add(new Violation(at, "must be at most 256 characters long"));
                    } else {
                        attributes.put(key, s);
                    }
                }
                case VALUE_TRUE -> attributes.put(key, Boolean.TRUE);
                case VALUE_FALSE -> attributes.put(key, Boolean.FALSE);
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                    double d = p.getDoubleValue();
                    if (Double.isFinite(d)) {
                        attributes.put(key, d);
                    } else {
                        out.add(new Violation(at, "must be a finite number"));
                    }
                }
                default -> {
                    out.add(new Violation(at, "must be a string, a number or a boolean"));
                    p.skipChildren();
                }
            }
        }
        if (count > MAX_ATTRIBUTES) {
            out.add(new Violation(pointer, "must have at most " + MAX_ATTRIBUTES + " keys; it has " + count));
        }
        return attributes;
    }

    /** What went wrong reading, in the client's terms: never a parser's internal message. */
    static String unreadable(IOException e) {
        if (e instanceof StreamConstraintsException) {
            return "a number, string or nesting is beyond what is accepted (numbers have at most 1000 digits)";
        }
        return "the body could not be read as UTF-8 JSON";
    }

    private static Violation syntax(JsonParseException e) {
        var location = e.getLocation();
        String where = location == null ? "" : " at line " + location.getLineNr() + ", column " + location.getColumnNr();
        String reason = e.getOriginalMessage();
        if (reason != null && reason.contains("UTF-8")) {
            return new Violation("", "the body is not valid UTF-8" + where);
        }
        if (reason != null && reason.startsWith("Duplicate field")) {
            return new Violation("", "a field appears twice" + where + ": " + reason.replace("Duplicate field ", ""));
        }
        return new Violation("", "malformed JSON" + where);
    }

    private static List<byte[]> splitLines(byte[] body) {
        List<byte[]> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= body.length; i++) {
            if (i == body.length || body[i] == '\n') {
                int end = i > start && body[i - 1] == '\r' ? i - 1 : i;
                if (i < body.length || end > start) {
                    lines.add(Arrays.copyOfRange(body, start, end));
                }
                start = i + 1;
            }
        }
        return lines;
    }

    private static boolean isBlank(byte[] line) {
        for (byte b : line) {
            if (b != ' ' && b != '\t') {
                return false;
            }
        }
        return true;
    }
}
