package io.tally.devstack;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.tally.model.Tenants;
import io.tally.model.TimeSource;
import io.tally.model.TokenClaims;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Mints HS256 tokens the gateway accepts: for the local stack, demos and tests. */
public final class DevTokens {

    /** Published in API.md; only for local development. Production sets TALLY_JWT_SECRET. */
    public static final String DEVELOPMENT_SECRET = TokenClaims.DEVELOPMENT_SECRET;
    public static final Set<String> ROLES = TokenClaims.ROLES;

    private DevTokens() {
    }

    /** The secret the local stack uses: TALLY_JWT_SECRET when set, else the development secret. */
    public static String secret(Map<String, String> env) {
        String secret = env.get("TALLY_JWT_SECRET");
        if (secret == null || secret.isEmpty()) {
            return DEVELOPMENT_SECRET;
        }
        if (secret.getBytes(StandardCharsets.UTF_8).length < 32) {
            throw new StackException("TALLY_JWT_SECRET must be at least 32 bytes long for HS256");
        }
        return secret;
    }

    public static String mint(String secret, String subject, String tenant, List<String> roles, Duration ttl) {
        if (!Tenants.isValid(tenant)) {
            throw new StackException("tenant '" + tenant + "' is invalid: use 1-40 of a-z, 0-9 and '-', starting with a letter or digit");
        }
        if (roles.isEmpty()) {
            throw new StackException("give at least one role: producer, admin or viewer");
        }
        for (String role : roles) {
            if (!ROLES.contains(role)) {
                throw new StackException("unknown role '" + role + "': use producer, admin or viewer");
            }
        }
        if (ttl.isNegative() || ttl.isZero()) {
            throw new StackException("--ttl must be positive, for example PT1H");
        }
        Instant now = TimeSource.SYSTEM.instant();
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
            .subject(subject)
            .claim("tenant", tenant)
            .claim("roles", roles)
            .issueTime(Date.from(now))
            .expirationTime(Date.from(now.plus(ttl)))
            .build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(), claims);
        try {
            jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (JOSEException e) {
            throw new StackException("cannot sign the token: " + e.getMessage(), e);
        }
        return jwt.serialize();
    }
}
