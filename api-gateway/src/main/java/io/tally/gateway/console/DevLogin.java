package io.tally.gateway.console;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/**
 * The console's sign-in without a token, for the local stack only: it exists exactly when the gateway accepts the
 * published development secret (listening on loopback, neither TALLY_JWT_SECRET nor a JWKS URL set), where anyone
 * could mint such a token anyway. Anywhere else it is off and its endpoint answers 404.
 *
 * @param enabled whether the gateway runs with the development secret
 * @param secret  that secret (null when off)
 */
public record DevLogin(boolean enabled, String secret) {

    /** How long a console session minted here lasts. */
    public static final Duration TTL = Duration.ofHours(8);

    /** A token for {@code tenant} with {@code roles}, valid {@link #TTL} from {@code now}. */
    public String mint(String tenant, List<String> roles, Instant now) {
        if (!enabled) {
            throw new IllegalStateException("dev login is off");
        }
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
            .subject("console-dev-login")
            .claim("tenant", tenant)
            .claim("roles", roles)
            .issueTime(Date.from(now))
            .expirationTime(Date.from(now.plus(TTL)))
            .build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(), claims);
        try {
            jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot sign a development token", e);
        }
        return jwt.serialize();
    }
}
