package io.tally.gateway.auth;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every way a bearer token must be refused, on a fixed clock. */
class TokenVerifierTest {

    static final String SECRET = "tally-local-development-secret-0123456789";
    static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");
    static final TokenVerifier VERIFIER;

    static {
        try {
            VERIFIER = TokenVerifier.hs256(SECRET, Clock.fixed(NOW, ZoneOffset.UTC));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static JWTClaimsSet.Builder valid() {
        return new JWTClaimsSet.Builder().subject("alice").claim("tenant", "acme").claim("roles", List.of("viewer", "admin"))
            .issueTime(Date.from(NOW.minusSeconds(10))).expirationTime(Date.from(NOW.plusSeconds(3600)));
    }

    static String hs256(JWTClaimsSet claims, String secret) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(), claims);
        jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    static String withClaims(UnaryOperator<JWTClaimsSet.Builder> change) throws Exception {
        return hs256(change.apply(valid()).build(), SECRET);
    }

    @Test
    void acceptsAValidTokenAndReadsTenantAndRoles() throws Exception {
        Caller caller = VERIFIER.verify(hs256(valid().build(), SECRET));
        assertEquals("acme", caller.tenant());
        assertEquals(Set.of("viewer", "admin"), caller.roles());
        assertEquals("alice", caller.subject());
    }

    static Stream<Arguments> rejected() throws Exception {
        RSAKey rsa = new RSAKeyGenerator(2048).generate();
        SignedJWT rs256 = new SignedJWT(new JWSHeader(JWSAlgorithm.RS256), valid().build());
        rs256.sign(new RSASSASigner(rsa));
        String header = Base64URL.encode("{\"alg\":\"none\",\"typ\":\"JWT\"}").toString();
        String payload = valid().build().toPayload().toBase64URL().toString();
        // Algorithm confusion: HS256 "signed" with the RSA public key as the HMAC secret.
        SignedJWT confused = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), valid().build());
        confused.sign(new MACSigner(rsa.toRSAPublicKey().getEncoded()));
        SignedJWT hs512 = new SignedJWT(new JWSHeader(JWSAlgorithm.HS512), valid().build());
        hs512.sign(new MACSigner((SECRET + SECRET).getBytes(StandardCharsets.UTF_8)));
        String good = hs256(valid().build(), SECRET);
        String tampered = good.substring(0, good.lastIndexOf('.')) + "." + Base64URL.encode("not the signature");
        return Stream.of(
            Arguments.of("garbage", "not-a-jwt", "not a signed JWT"),
            Arguments.of("two parts", "abc.def", "not a signed JWT"),
            Arguments.of("alg none", header + "." + payload + ".", "not a signed JWT"),
            Arguments.of("wrong secret", hs256(valid().build(), SECRET + "-other"), "signature"),
            Arguments.of("tampered signature", tampered, "signature"),
            Arguments.of("RS256 without a JWKS", rs256.serialize(), "not accepted"),
            Arguments.of("HS512", hs512.serialize(), "not accepted"),
            Arguments.of("algorithm confusion", confused.serialize(), "signature"),
            Arguments.of("expired", withClaims(b -> b.expirationTime(Date.from(NOW.minusSeconds(1)))), "expired"),
            Arguments.of("expires now", withClaims(b -> b.expirationTime(Date.from(NOW))), "expired"),
            Arguments.of("no exp", withClaims(b -> b.expirationTime(null)), "exp"),
            Arguments.of("nbf in the future", withClaims(b -> b.notBeforeTime(Date.from(NOW.plusSeconds(30)))), "not valid before"),
            Arguments.of("iat far in the future", withClaims(b -> b.issueTime(Date.from(NOW.plusSeconds(600)))), "issued in the future"),
            Arguments.of("no sub", withClaims(b -> b.subject(null)), "sub"),
            Arguments.of("no tenant", withClaims(b -> b.claim("tenant", null)), "tenant"),
            Arguments.of("tenant with capitals", withClaims(b -> b.claim("tenant", "Acme")), "tenant"),
            Arguments.of("tenant too long", withClaims(b -> b.claim("tenant", "a".repeat(41))), "tenant"),
            Arguments.of("tenant a number", withClaims(b -> b.claim("tenant", 7)), "tenant"),
            Arguments.of("no roles", withClaims(b -> b.claim("roles", null)), "roles"),
            Arguments.of("roles a string", withClaims(b -> b.claim("roles", "admin")), "roles"),
            Arguments.of("unknown role", withClaims(b -> b.claim("roles", List.of("root"))), "roles"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejected")
    void rejects(String name, String token, String reason) {
        TokenRejected e = assertThrows(TokenRejected.class, () -> VERIFIER.verify(token));
        assertTrue(e.getMessage().contains(reason), name + ": " + e.getMessage());
        assertTrue(!e.getMessage().contains(token), "never echo the token");
    }

    @Test
    void acceptsANotBeforeInThePastAndAnIssueTimeWithinTheSkew() throws Exception {
        VERIFIER.verify(withClaims(b -> b.notBeforeTime(Date.from(NOW.minusSeconds(5)))));
        TokenVerifier skewed = new TokenVerifier(SECRET.getBytes(StandardCharsets.UTF_8), null, Clock.fixed(NOW, ZoneOffset.UTC),
            new TokenVerifier.Policy(java.time.Duration.ofSeconds(60), null, null));
        skewed.verify(withClaims(b -> b.issueTime(Date.from(NOW.plusSeconds(30))).notBeforeTime(Date.from(NOW.plusSeconds(30)))));
        assertThrows(TokenRejected.class, () -> VERIFIER.verify(withClaims(b -> b.issueTime(Date.from(NOW.plusSeconds(30))))),
            "without skew an issue time in the future is refused");
    }

    @Test
    void refusesSecretsShorterThan32Bytes() {
        assertThrows(IllegalArgumentException.class, () -> TokenVerifier.hs256("short", Clock.systemUTC()));
    }
}
