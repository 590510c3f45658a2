package io.tally.rules.domain;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import io.tally.model.JsonPointer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses a request body into plain values (Map, List, String, Number, Boolean, null) with duplicate
 * keys rejected, so validators can walk it and name every problem with a pointer.
 */
public final class JsonTree {

    private static final JsonFactory JSON = JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final int MAX_DEPTH = 32;

    /** Thrown for a body that is not JSON at all, or one no store can hold; the message says where and why. */
    public static final class MalformedJson extends Exception {
        private final String pointer;

        MalformedJson(String message) {
            this(message, "");
        }

        MalformedJson(String message, String pointer) {
            super(message, null, false, false);
            this.pointer = pointer;
        }

        /** Where in the body (a JSON pointer; empty for the whole body). */
        public String pointer() {
            return pointer;
        }
    }

    private JsonTree() {
    }

    public static Object parse(byte[] body) throws MalformedJson {
        try (JsonParser p = JSON.createParser(body)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                throw new MalformedJson("the body is empty; send a JSON object");
            }
            Object value = read(p, first, 0, "");
            if (p.nextToken() != null) {
                throw new MalformedJson("unexpected content after the JSON value at line " + p.currentLocation().getLineNr());
            }
            return value;
        } catch (StreamConstraintsException e) {
            throw new MalformedJson("a number, string or nesting is beyond what is accepted (numbers have at most 1000 digits)");
        } catch (JsonProcessingException e) {
            String message = e.getOriginalMessage();
            throw new MalformedJson("not valid JSON at line " + (e.getLocation() == null ? "?" : e.getLocation().getLineNr())
                + ", column " + (e.getLocation() == null ? "?" : e.getLocation().getColumnNr()) + ": "
                + (message.length() > 200 ? message.substring(0, 200) : message));
        } catch (IOException e) {
            throw new MalformedJson("the body could not be read as UTF-8 JSON");
        }
    }

    private static Object read(JsonParser p, JsonToken token, int depth, String pointer) throws IOException, MalformedJson {
        if (depth > MAX_DEPTH) {
            throw new MalformedJson("the JSON is nested more than " + MAX_DEPTH + " levels deep");
        }
        return switch (token) {
            case START_OBJECT -> {
                Map<String, Object> map = new LinkedHashMap<>();
                for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                    String name = p.currentName();
                    String at = JsonPointer.child(pointer, name);
                    if (name.indexOf('\u0000') >= 0) {
                        throw new MalformedJson("a key contains the character U+0000, which cannot be stored", at);
                    }
                    map.put(name, read(p, p.nextToken(), depth + 1, at));
                }
                yield map;
            }
            case START_ARRAY -> {
                List<Object> list = new ArrayList<>();
                for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                    list.add(read(p, t, depth + 1, pointer + "/" + list.size()));
                }
                yield list;
            }
            case VALUE_STRING -> {
                String text = p.getText();
                if (text.indexOf('\u0000') >= 0) {
                    throw new MalformedJson("contains the character U+0000, which cannot be stored", pointer);
                }
                yield text;
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getDecimalValue();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> null;
            default -> throw new MalformedJson("unexpected JSON token " + token);
        };
    }
}
