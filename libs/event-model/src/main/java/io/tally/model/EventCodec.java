package io.tally.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The wire format of {@link Event} on Kafka: compact JSON with short field names, written and read
 * with Jackson's streaming API (no reflection, no tree) because the aggregation hot path parses it.
 */
public final class EventCodec {

    private static final JsonFactory JSON = JsonFactory.builder().build();

    private EventCodec() {
    }

    public static byte[] encode(Event e) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("tn", e.tenant());
            g.writeStringField("id", e.id());
            g.writeStringField("c", e.category());
            g.writeNumberField("t", e.timeMillis());
            if (e.type() != null) {
                g.writeStringField("ty", e.type());
            }
            if (e.geo() != null) {
                g.writeStringField("g", e.geo());
            }
            if (e.value() != null) {
                g.writeNumberField("v", e.value());
            }
            if (!e.attributes().isEmpty()) {
                g.writeObjectFieldStart("a");
                for (Map.Entry<String, Object> a : e.attributes().entrySet()) {
                    switch (a.getValue()) {
                        case String s -> g.writeStringField(a.getKey(), s);
                        case Boolean b -> g.writeBooleanField(a.getKey(), b);
                        case Number n -> g.writeNumberField(a.getKey(), n.doubleValue());
                        default -> throw new IllegalArgumentException("attribute " + a.getKey() + " has an unsupported type");
                    }
                }
                g.writeEndObject();
            }
            if (e.source() != null) {
                g.writeStringField("s", e.source());
            }
            g.writeEndObject();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return out.toByteArray();
    }

    /** Decodes one record value; throws {@link IllegalArgumentException} on a malformed record. */
    public static Event decode(byte[] bytes) {
        try (JsonParser p = JSON.createParser(bytes)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("an event record must be a JSON object");
            }
            String tenant = null;
            String id = null;
            String category = null;
            long time = Long.MIN_VALUE;
            String type = null;
            String geo = null;
            Double value = null;
            Map<String, Object> attributes = Map.of();
            String source = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken token = p.nextToken();
                switch (field) {
                    case "tn" -> tenant = p.getText();
                    case "id" -> id = p.getText();
                    case "c" -> category = p.getText();
                    case "t" -> time = p.getLongValue();
                    case "ty" -> type = p.getText();
                    case "g" -> geo = p.getText();
                    case "v" -> value = p.getDoubleValue();
                    case "s" -> source = p.getText();
                    case "a" -> attributes = readAttributes(p, token);
                    default -> p.skipChildren();
                }
            }
            if (tenant == null || id == null || category == null || time == Long.MIN_VALUE) {
                throw new IllegalArgumentException("an event record lacks tenant, id, category or time");
            }
            return new Event(tenant, id, category, time, type, geo, value, attributes, source);
        } catch (IOException ex) {
            throw new IllegalArgumentException("malformed event record: " + ex.getMessage(), ex);
        }
    }

    private static Map<String, Object> readAttributes(JsonParser p, JsonToken start) throws IOException {
        if (start != JsonToken.START_OBJECT) {
            throw new IllegalArgumentException("attributes must be an object");
        }
        Map<String, Object> attributes = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            JsonToken token = p.nextToken();
            Object value = switch (token) {
                case VALUE_STRING -> p.getText();
                case VALUE_TRUE -> Boolean.TRUE;
                case VALUE_FALSE -> Boolean.FALSE;
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getDoubleValue();
                default -> throw new IllegalArgumentException("attribute " + key + " has an unsupported type");
            };
            attributes.put(key, value);
        }
        return attributes;
    }
}
