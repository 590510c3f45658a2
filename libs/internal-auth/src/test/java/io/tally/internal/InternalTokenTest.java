package io.tally.internal;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InternalTokenTest {

    private static final byte[] KEY = "a-key-of-thirty-two-characters!!".getBytes(StandardCharsets.UTF_8);
    private static final long NOW = 1_796_300_000_000L;

    @Test
    void aSignedRequestVerifiesWithItsClaims() {
        String token = InternalToken.sign(KEY, "acme", List.of("viewer", "admin"), "get", "/api/v1/rules/r1", NOW);
        InternalToken.Claims claims = InternalToken.verify(KEY, token, NOW + 1_000).orElseThrow();
        assertEquals(new InternalToken.Claims("acme", List.of("admin", "viewer"), "GET", "/api/v1/rules/r1", NOW + InternalToken.LIFETIME_MILLIS),
            claims);
        assertEquals("admin,viewer", claims.rolesHeader());
    }

    @Test
    void anotherKeyAnAlteredPayloadOrAnExpiredTokenIsRefused() {
        String token = InternalToken.sign(KEY, "acme", List.of("admin"), "GET", "/api/v1/rules", NOW);
        assertTrue(InternalToken.verify("another-key-of-32-characters!!!!".getBytes(StandardCharsets.UTF_8), token, NOW).isEmpty());
        String[] parts = token.split("\\.");
        String forged = parts[0] + "." + java.util.Base64.getUrlEncoder().withoutPadding()
            .encodeToString("evil\nadmin\nGET\n/api/v1/rules\n9999999999999".getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        assertTrue(InternalToken.verify(KEY, forged, NOW).isEmpty());
        assertTrue(InternalToken.verify(KEY, token, NOW + InternalToken.LIFETIME_MILLIS + 1).isEmpty(), "expired");
        assertTrue(InternalToken.verify(KEY, InternalToken.sign(KEY, "acme", List.of(), "GET", "/x", NOW + 10 * InternalToken.LIFETIME_MILLIS), NOW)
            .isEmpty(), "signed too far ahead");
    }

    @Test
    void garbageIsRefusedNeverThrown() {
        for (String bad : new String[] {null, "", "v1.", "v1..", "v1.!!.!!", "v2.a.b", "v1.a.b.c", "v1." + "a".repeat(10_000) + ".b"}) {
            assertTrue(InternalToken.verify(KEY, bad, NOW).isEmpty(), String.valueOf(bad));
        }
    }

    @Test
    void theDevelopmentKeyOnlyOnLoopbackAndRealKeysLongEnough() {
        assertEquals(InternalKey.DEVELOPMENT_KEY, InternalKey.choose("", "127.0.0.1"));
        assertThrows(IllegalStateException.class, () -> InternalKey.choose("", "0.0.0.0"));
        assertThrows(IllegalStateException.class, () -> InternalKey.choose(InternalKey.DEVELOPMENT_KEY, "10.0.0.5"));
        assertThrows(IllegalStateException.class, () -> InternalKey.choose("short", "127.0.0.1"));
        assertEquals("k".repeat(40), InternalKey.choose("k".repeat(40), "0.0.0.0"));
    }

    @Test
    void loopbackIsOnlyThisMachine() {
        assertTrue(Loopback.is("127.0.0.1"));
        assertTrue(Loopback.is("localhost"));
        assertTrue(Loopback.is("[::1]"));
        assertEquals(false, Loopback.is("0.0.0.0"));
        assertEquals(false, Loopback.is("example.com"));
        assertEquals(false, Loopback.is(null));
    }
}
