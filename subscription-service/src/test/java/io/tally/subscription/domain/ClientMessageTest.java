package io.tally.subscription.domain;

import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

class ClientMessageTest {

    private static Map<String, Object> message(Object... pairs) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put((String) pairs[i], pairs[i + 1]);
        }
        return m;
    }

    private static ClientMessage.Invalid invalid(Map<String, Object> message) {
        return assertInstanceOf(ClientMessage.Invalid.class, ClientMessage.of(message));
    }

    @Test
    void aTailTakesOnlyAnId() {
        assertEquals(new ClientMessage.Tail("t"), ClientMessage.of(message("op", "tail", "id", "t")));
        assertEquals("/ruleId", invalid(message("op", "tail", "id", "t", "ruleId", "r")).pointer());
        assertEquals("/id", invalid(message("op", "tail")).pointer());
    }

    @Test
    void aSubscribeToARuleCarriesItsGroupsAsTextAndItsResumeVersion() {
        ClientMessage.Subscribe s = assertInstanceOf(ClientMessage.Subscribe.class, ClientMessage.of(message(
            "op", "subscribe", "id", "a", "ruleId", "r", "groups", message("geo", "US", "year", 2024.0, "live", true), "resumeVersion", 7)));
        assertEquals(Map.of("geo", "US", "year", "2024", "live", "true"), s.groups());
        assertEquals(7L, s.resumeVersion());
        assertEquals("rule:r:{geo=US, live=true, year=2024}", s.target());
    }

    @Test
    void aSubscribeToADashboardNamesItsTarget() {
        ClientMessage.Subscribe s = assertInstanceOf(ClientMessage.Subscribe.class,
            ClientMessage.of(message("op", "subscribe", "id", "a", "dashboardId", "d")));
        assertNull(s.resumeVersion());
        assertEquals("dashboard:d", s.target());
    }

    @Test
    void anUnsubscribeTakesOnlyOpAndId() {
        assertEquals(new ClientMessage.Unsubscribe("a"), ClientMessage.of(message("op", "unsubscribe", "id", "a")));
        assertEquals("/ruleId", invalid(message("op", "unsubscribe", "id", "a", "ruleId", "r")).pointer());
    }

    @Test
    void eachMistakeIsNamedByItsPointer() {
        assertEquals("", invalid(null).pointer());
        assertNull(invalid(null).id());
        assertEquals("/op", invalid(message("id", "a")).pointer());
        assertEquals("/op", invalid(message("op", "watch", "id", "a")).pointer());
        assertEquals("/id", invalid(message("op", "subscribe", "ruleId", "r")).pointer());
        assertEquals("/id", invalid(message("op", "subscribe", "id", "x".repeat(201), "ruleId", "r")).pointer());
        assertEquals("/ruleId", invalid(message("op", "subscribe", "id", "a")).pointer());
        assertEquals("/dashboardId", invalid(message("op", "subscribe", "id", "a", "ruleId", "r", "dashboardId", "d")).pointer());
        assertEquals("/ruleId", invalid(message("op", "subscribe", "id", "a", "ruleId", 5)).pointer());
        assertEquals("/dashboardId", invalid(message("op", "subscribe", "id", "a", "dashboardId", "")).pointer());
        assertEquals("/dashboardId", invalid(message("op", "subscribe", "id", "a", "dashboardId", "d".repeat(201))).pointer());
        assertEquals("/ruleId", invalid(message("op", "subscribe", "id", "a", "ruleId", "r".repeat(201))).pointer());
        assertEquals("/groups", invalid(message("op", "subscribe", "id", "a", "dashboardId", "d", "groups", Map.of())).pointer());
        assertEquals("/groups", invalid(message("op", "subscribe", "id", "a", "ruleId", "r", "groups", List.of())).pointer());
        assertEquals("/groups/a~1b", invalid(message("op", "subscribe", "id", "a", "ruleId", "r", "groups", message("a/b", List.of()))).pointer());
        assertEquals("/resumeVersion", invalid(message("op", "subscribe", "id", "a", "ruleId", "r", "resumeVersion", -1)).pointer());
        assertEquals("/resumeVersion", invalid(message("op", "subscribe", "id", "a", "ruleId", "r", "resumeVersion", 1.5)).pointer());
        assertEquals("/resumeVersion", invalid(message("op", "subscribe", "id", "a", "ruleId", "r", "resumeVersion", Double.POSITIVE_INFINITY)).pointer());
        assertEquals("/resumeVersion", invalid(message("op", "subscribe", "id", "a", "ruleId", "r", "resumeVersion", new BigInteger("99999999999999999999999"))).pointer());
        assertEquals("/resumeVersion", invalid(message("op", "subscribe", "id", "a", "ruleId", "r", "resumeVersion", Long.MAX_VALUE)).pointer());
        assertEquals(ClientMessage.MAX_VERSION, assertInstanceOf(ClientMessage.Subscribe.class,
            ClientMessage.of(message("op", "subscribe", "id", "a", "ruleId", "r", "resumeVersion", ClientMessage.MAX_VERSION))).resumeVersion());
        assertEquals("/x~0y", invalid(message("op", "subscribe", "id", "a", "ruleId", "r", "x~y", 1)).pointer());
    }

    @Test
    void anInvalidMessageIsA400ErrorForItsId() {
        assertEquals("{\"type\":\"error\",\"id\":\"a\",\"status\":400,\"title\":\"Bad Request\",\"detail\":\"op must be \\\"subscribe\\\", \\\"tail\\\" or \\\"unsubscribe\\\", not \\\"watch\\\".\",\"pointer\":\"/op\"}",
            invalid(message("op", "watch", "id", "a")).json());
    }
}
