package io.tally.gateway.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RS256 and ES256 tokens verified with keys from a JWKS served over HTTP on loopback. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JwksTokenTest {

    private HttpServer server;
    private RSAKey rsa;
    private ECKey ec;
    private TokenVerifier verifier;

    @BeforeAll
    void serveJwks() throws Exception {
        rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
        ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
        byte[] jwks = new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK())).toString().getBytes(StandardCharsets.UTF_8);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/jwks.json", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, jwks.length);
            exchange.getResponseBody().write(jwks);
            exchange.close();
        });
        server.start();
        verifier = new TokenVerifier(TokenVerifierTest.SECRET.getBytes(StandardCharsets.UTF_8),
            "http://127.0.0.1:" + server.getAddress().getPort() + "/jwks.json", Clock.systemUTC());
    }

    @AfterAll
    void stop() {
        server.stop(0);
    }

    private static com.nimbusds.jwt.JWTClaimsSet claims() {
        return new com.nimbusds.jwt.JWTClaimsSet.Builder().subject("svc").claim("tenant", "acme").claim("roles", List.of("producer"))
            .expirationTime(new java.util.Date(System.currentTimeMillis() + 60_000)).build();
    }

    @Test
    void acceptsRs256AndEs256SignedByTheJwksKeys() throws Exception {
        SignedJWT rs = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").build(), claims());
        rs.sign(new RSASSASigner(rsa));
        assertEquals("acme", verifier.verify(rs.serialize()).tenant());
        SignedJWT es = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("ec-1").build(), claims());
        es.sign(new ECDSASigner(ec));
        assertEquals("acme", verifier.verify(es.serialize()).tenant());
    }

    @Test
    void rejectsAsymmetricTokensSignedByOtherKeys() throws Exception {
        RSAKey stranger = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
        SignedJWT rs = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").build(), claims());
        rs.sign(new RSASSASigner(stranger));
        assertThrows(TokenRejected.class, () -> verifier.verify(rs.serialize()));
    }

    @Test
    void withHs256OffAcceptsJwksTokensOnlyNotEvenOnesSignedWithTheOnceSharedSecret() throws Exception {
        TokenVerifier jwksOnly = new TokenVerifier(null, "http://127.0.0.1:" + server.getAddress().getPort() + "/jwks.json", Clock.systemUTC());
        SignedJWT rs = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").build(), claims());
        rs.sign(new RSASSASigner(rsa));
        assertEquals("acme", jwksOnly.verify(rs.serialize()).tenant());
        SignedJWT hs = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims());
        hs.sign(new com.nimbusds.jose.crypto.MACSigner(TokenVerifierTest.SECRET.getBytes(StandardCharsets.UTF_8)));
        assertThrows(TokenRejected.class, () -> jwksOnly.verify(hs.serialize()));
    }

    @Test
    void rejectsHs256SignedWithTheJwksPublicKey() throws Exception {
        SignedJWT confused = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims());
        confused.sign(new com.nimbusds.jose.crypto.MACSigner(rsa.toRSAPublicKey().getEncoded()));
        assertThrows(TokenRejected.class, () -> verifier.verify(confused.serialize()));
    }

    @Test
    void requiresTheConfiguredIssuerAndAudienceOfIdentityProviderTokens() throws Exception {
        TokenVerifier strict = new TokenVerifier(null, "http://127.0.0.1:" + server.getAddress().getPort() + "/jwks.json", Clock.systemUTC(),
            new TokenVerifier.Policy(java.time.Duration.ofSeconds(30), "https://idp.example", "tally"));
        java.util.function.Function<com.nimbusds.jwt.JWTClaimsSet, String> sign = claims -> {
            try {
                SignedJWT rs = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").build(), claims);
                rs.sign(new RSASSASigner(rsa));
                return rs.serialize();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        var good = new com.nimbusds.jwt.JWTClaimsSet.Builder(claims()).issuer("https://idp.example").audience(List.of("other", "tally")).build();
        assertEquals("acme", strict.verify(sign.apply(good)).tenant());
        TokenRejected wrongIssuer = assertThrows(TokenRejected.class,
            () -> strict.verify(sign.apply(new com.nimbusds.jwt.JWTClaimsSet.Builder(good).issuer("https://evil.example").build())));
        assertTrue(wrongIssuer.getMessage().contains("TALLY_JWT_ISSUER"), wrongIssuer.getMessage());
        assertThrows(TokenRejected.class, () -> strict.verify(sign.apply(new com.nimbusds.jwt.JWTClaimsSet.Builder(good).audience("else").build())));
        assertThrows(TokenRejected.class, () -> strict.verify(sign.apply(new com.nimbusds.jwt.JWTClaimsSet.Builder(good).audience((String) null).build())));
        // The skew is tolerated alike for exp and nbf: 20 s past exp passes with 30 s of skew, 40 s does not.
        long now = System.currentTimeMillis();
        assertEquals("acme", strict.verify(sign.apply(new com.nimbusds.jwt.JWTClaimsSet.Builder(good)
            .expirationTime(new java.util.Date(now - 20_000)).build())).tenant());
        assertThrows(TokenRejected.class, () -> strict.verify(sign.apply(new com.nimbusds.jwt.JWTClaimsSet.Builder(good)
            .expirationTime(new java.util.Date(now - 40_000)).build())));
        assertEquals("acme", strict.verify(sign.apply(new com.nimbusds.jwt.JWTClaimsSet.Builder(good)
            .notBeforeTime(new java.util.Date(now + 20_000)).build())).tenant());
        assertThrows(IllegalArgumentException.class, () -> new TokenVerifier.Policy(java.time.Duration.ofHours(1), null, null));
    }
}
