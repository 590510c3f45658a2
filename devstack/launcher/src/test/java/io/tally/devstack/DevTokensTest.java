package io.tally.devstack;

import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DevTokensTest {

    @Test
    void mintsHs256TokenWithTheContractClaims() throws Exception {
        String token = DevTokens.mint(DevTokens.DEVELOPMENT_SECRET, "alice", "acme", List.of("producer", "viewer"), Duration.ofMinutes(30));
        SignedJWT jwt = SignedJWT.parse(token);
        assertEquals("HS256", jwt.getHeader().getAlgorithm().getName());
        assertTrue(jwt.verify(new MACVerifier(DevTokens.DEVELOPMENT_SECRET.getBytes(StandardCharsets.UTF_8))));
        assertFalse(jwt.verify(new MACVerifier("another-secret-that-is-long-enough-0123".getBytes(StandardCharsets.UTF_8))));
        var claims = jwt.getJWTClaimsSet();
        assertEquals("alice", claims.getSubject());
        assertEquals("acme", claims.getStringClaim("tenant"));
        assertEquals(List.of("producer", "viewer"), claims.getStringListClaim("roles"));
        long ttl = claims.getExpirationTime().toInstant().getEpochSecond() - claims.getIssueTime().toInstant().getEpochSecond();
        assertEquals(1800, ttl);
        assertTrue(claims.getExpirationTime().toInstant().isAfter(Instant.now()));
    }

    @Test
    void usesTheConfiguredSecretAndRejectsAShortOne() {
        assertEquals(DevTokens.DEVELOPMENT_SECRET, DevTokens.secret(Map.of()));
        String custom = "x".repeat(32);
        assertEquals(custom, DevTokens.secret(Map.of("TALLY_JWT_SECRET", custom)));
        StackException e = assertThrows(StackException.class, () -> DevTokens.secret(Map.of("TALLY_JWT_SECRET", "short")));
        assertTrue(e.getMessage().contains("32 bytes"));
    }

    @Test
    void rejectsTenantsRolesAndTtlsTheGatewayWouldRefuse() {
        assertThrows(StackException.class, () -> DevTokens.mint(DevTokens.DEVELOPMENT_SECRET, "a", "Acme", List.of("viewer"), Duration.ofHours(1)));
        assertThrows(StackException.class, () -> DevTokens.mint(DevTokens.DEVELOPMENT_SECRET, "a", "-acme", List.of("viewer"), Duration.ofHours(1)));
        assertThrows(StackException.class, () -> DevTokens.mint(DevTokens.DEVELOPMENT_SECRET, "a", "a".repeat(41), List.of("viewer"), Duration.ofHours(1)));
        assertThrows(StackException.class, () -> DevTokens.mint(DevTokens.DEVELOPMENT_SECRET, "a", "acme", List.of("root"), Duration.ofHours(1)));
        assertThrows(StackException.class, () -> DevTokens.mint(DevTokens.DEVELOPMENT_SECRET, "a", "acme", List.of(), Duration.ofHours(1)));
        assertThrows(StackException.class, () -> DevTokens.mint(DevTokens.DEVELOPMENT_SECRET, "a", "acme", List.of("admin"), Duration.ZERO));
    }
}
