package io.tally.rules.domain;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class JsonTreeTest {

    private static Object parse(String json) throws JsonTree.MalformedJson {
        return JsonTree.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void refusesTheNulCharacterThatPostgresqlCannotStoreAndSaysWhere() {
        JsonTree.MalformedJson e = assertThrows(JsonTree.MalformedJson.class,
            () -> parse("{\"name\":\"ok\",\"filter\":{\"categories\":[\"a\",\"b\\u0000c\"]}}"));
        assertEquals("/filter/categories/1", e.pointer());
        JsonTree.MalformedJson key = assertThrows(JsonTree.MalformedJson.class, () -> parse("{\"filter\":{\"attributes\":{\"a\\u0000\":\"x\"}}}"));
        assertEquals("/filter/attributes/a\u0000", key.pointer());
    }

    @Test
    void parsesPlainValues() throws Exception {
        assertEquals(Map.of("a", List.of("x", true)), parse("{\"a\":[\"x\",true]}"));
    }
}
