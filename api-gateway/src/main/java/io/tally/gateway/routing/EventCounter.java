package io.tally.gateway.routing;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;

/**
 * How many ingest tokens a body costs, without a full parse: the length of the {@code events} array,
 * the number of non-blank NDJSON lines, or 1 for a single event. A malformed body costs 1 (the
 * ingestion service answers it with a 400).
 */
public final class EventCounter {

    private static final JsonFactory JSON = new JsonFactory();

    private EventCounter() {
    }

    public static int count(byte[] body, boolean ndjson) {
        if (body == null || body.length == 0) {
            return 1;
        }
        return Math.max(1, ndjson ? lines(body) : json(body));
    }

    private static int lines(byte[] body) {
        int count = 0;
        boolean content = false;
        for (byte b : body) {
            if (b == '\n') {
                count += content ? 1 : 0;
                content = false;
            } else if (b != ' ' && b != '\t' && b != '\r') {
                content = true;
            }
        }
        return count + (content ? 1 : 0);
    }

    private static int json(byte[] body) {
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return 1;
            }
            for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if ("events".equals(name) && value == JsonToken.START_ARRAY) {
                    int n = 0;
                    for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY && e != null; e = p.nextToken()) {
                        n++;
                        p.skipChildren();
                    }
                    return n;
                }
                p.skipChildren();
            }
            return 1;
        } catch (IOException e) {
            return 1;
        }
    }
}
