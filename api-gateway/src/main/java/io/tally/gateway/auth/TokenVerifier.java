package io.tally.gateway.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.tally.model.Tenants;
import io.tally.model.TokenClaims;

import java.net.MalformedURLException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Verifies bearer tokens as API.md says: HS256 with the configured secret, or RS256/ES256 with keys from a
 * configured JWKS. The algorithm decides the key kind and never the other way round, so {@code alg: none}
 * and algorithm confusion (an HS256 token "signed" with a public key) cannot pass. Required claims:
 * {@code sub}, {@code tenant}, {@code roles}, {@code exp}; {@code nbf} and {@code iat} are honoured.
 */
public final class TokenVerifier {

    private static final Set<String> ROLES = TokenClaims.ROLES;
    /**
     * What a verified token must also satisfy: {@code clockSkew} tolerated alike for {@code exp}, {@code nbf} and
     * {@code iat} (clocks of the identity provider and the gateway differ a little); for tokens verified with the
     * JWKS (an identity provider's), the {@code iss} and an {@code aud} they must carry when set.
     */
    public record Policy(Duration clockSkew, String issuer, String audience) {

        /** No skew, no issuer or audience required. */
        public static final Policy EXACT = new Policy(Duration.ZERO, null, null);

        public Policy {
            if (clockSkew.isNegative() || clockSkew.compareTo(Duration.ofMinutes(5)) > 0) {
                throw new IllegalArgumentException("the clock skew must be between 0 and 5 minutes, was " + clockSkew);
            }
            issuer = issuer == null || issuer.isBlank() ? null : issuer;
            audience = audience == null || audience.isBlank() ? null : audience;
        }
    }
    private static final Set<JWSAlgorithm> ASYMMETRIC = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256);

    private final JWSVerifier hmac;
    private final JWSVerificationKeySelector<SecurityContext> jwksKeys;
    private final Clock clock;
    private final Policy policy;

    /** {@code secret} null: HS256 tokens are refused (only JWKS-verified ones are accepted); no skew, no iss or aud. */
    public TokenVerifier(byte[] secret, String jwksUrl, Clock clock) throws JOSEException {
        this(secret, jwksUrl, clock, Policy.EXACT);
    }

    /** As above, with {@code policy} for the time claims and for the issuer and audience of JWKS-verified tokens. */
    public TokenVerifier(byte[] secret, String jwksUrl, Clock clock, Policy policy) throws JOSEException {
        this.policy = policy;
        if (secret != null && secret.length < 32) {
            throw new IllegalArgumentException("the HS256 secret must be at least 32 bytes");
        }
        if (secret == null && (jwksUrl == null || jwksUrl.isBlank())) {
            throw new IllegalArgumentException("neither an HS256 secret nor a JWKS URL: no token could ever verify");
        }
        this.hmac = secret == null ? null : new MACVerifier(secret);
        this.clock = clock;
        if (jwksUrl == null || jwksUrl.isBlank()) {
            this.jwksKeys = null;
        } else {
            try {
                JWKSource<SecurityContext> source = JWKSourceBuilder.create(URI.create(jwksUrl).toURL()).build();
                this.jwksKeys = new JWSVerificationKeySelector<>(ASYMMETRIC, source);
            } catch (MalformedURLException | IllegalArgumentException e) {
                throw new IllegalArgumentException("the JWKS URL '" + jwksUrl + "' is not a URL", e);
            }
        }
    }

    public static TokenVerifier hs256(String secret, Clock clock) throws JOSEException {
        return new TokenVerifier(secret.getBytes(StandardCharsets.UTF_8), null, clock);
    }

    /** The caller a token authenticates. */
    public Caller verify(String token) throws TokenRejected {
        SignedJWT jwt;
        try {
            jwt = SignedJWT.parse(token);
        } catch (ParseException e) {
            throw new TokenRejected("the bearer token is not a signed JWT");
        }
        JWSHeader header = jwt.getHeader();
        if (!verifySignature(jwt, header)) {
            throw new TokenRejected("the token's signature does not verify");
        }
        boolean identityProvider = ASYMMETRIC.contains(header.getAlgorithm());
        JWTClaimsSet claims;
        try {
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new TokenRejected("the token's claims are not a JSON object");
        }
        if (identityProvider) {
            checkIssuerAndAudience(claims);
        }
        return caller(claims);
    }

    private void checkIssuerAndAudience(JWTClaimsSet claims) throws TokenRejected {
        if (policy.issuer() != null && !policy.issuer().equals(claims.getIssuer())) {
            throw new TokenRejected("the token's issuer is not the one this gateway trusts (TALLY_JWT_ISSUER)");
        }
        if (policy.audience() != null && (claims.getAudience() == null || !claims.getAudience().contains(policy.audience()))) {
            throw new TokenRejected("the token is not meant for this audience (TALLY_JWT_AUDIENCE)");
        }
    }

    private boolean verifySignature(SignedJWT jwt, JWSHeader header) throws TokenRejected {
        JWSAlgorithm alg = header.getAlgorithm();
        try {
            if (JWSAlgorithm.HS256.equals(alg)) {
                return hmac != null && jwt.verify(hmac);
            }
            if (ASYMMETRIC.contains(alg) && jwksKeys != null) {
                List<? extends Key> keys = jwksKeys.selectJWSKeys(header, null);
                DefaultJWSVerifierFactory factory = new DefaultJWSVerifierFactory();
                for (Key key : keys) {
                    if (jwt.verify(factory.createJWSVerifier(header, key))) {
                        return true;
                    }
                }
                return false;
            }
        } catch (JOSEException e) {
            return false;
        } catch (RuntimeException e) {
            throw new TokenRejected("the token's keys could not be checked");
        }
        throw new TokenRejected("tokens signed with " + alg + " are not accepted; use HS256"
            + (jwksKeys == null ? "" : ", RS256 or ES256"));
    }

    private Caller caller(JWTClaimsSet claims) throws TokenRejected {
        Instant now = clock.instant();
        Duration skew = policy.clockSkew();
        Date exp = claims.getExpirationTime();
        if (exp == null) {
            throw new TokenRejected("the token has no exp claim");
        }
        if (!now.isBefore(exp.toInstant().plus(skew))) {
            throw new TokenRejected("the token expired at " + exp.toInstant());
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && now.plus(skew).isBefore(nbf.toInstant())) {
            throw new TokenRejected("the token is not valid before " + nbf.toInstant());
        }
        Date iat = claims.getIssueTime();
        if (iat != null && iat.toInstant().isAfter(now.plus(skew))) {
            throw new TokenRejected("the token was issued in the future (iat " + iat.toInstant() + ")");
        }
        String sub = claims.getSubject();
        if (sub == null || sub.isBlank()) {
            throw new TokenRejected("the token has no sub claim");
        }
        if (!(claims.getClaim("tenant") instanceof String tenant) || !Tenants.isValid(tenant)) {
            throw new TokenRejected("the token's tenant claim is missing or not ^[a-z0-9][a-z0-9-]{0,39}$");
        }
        if (!(claims.getClaim("roles") instanceof List<?> list)) {
            throw new TokenRejected("the token's roles claim is missing or not an array");
        }
        Set<String> roles = new LinkedHashSet<>();
        for (Object role : list) {
            if (!(role instanceof String r) || !ROLES.contains(r)) {
                throw new TokenRejected("the token's roles may only be producer, admin and viewer");
            }
            roles.add(r);
        }
        return new Caller(sub, tenant, Set.copyOf(roles));
    }
}
