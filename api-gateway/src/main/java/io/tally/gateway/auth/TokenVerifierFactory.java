package io.tally.gateway.auth;

import com.nimbusds.jose.JOSEException;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import io.tally.gateway.config.GatewayConfig;
import io.tally.gateway.console.DevLogin;
import io.tally.model.TimeSource;
import io.tally.model.TokenClaims;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The gateway's token verifier from configuration ({@link SigningKeys}): TALLY_JWT_SECRET (at least 32 bytes), a
 * JWKS URL, or — only while listening on loopback with neither set — the published development secret.
 */
@Factory
public class TokenVerifierFactory {

    private static final Logger LOG = LoggerFactory.getLogger(TokenVerifierFactory.class);

    @Singleton
    TokenVerifier tokenVerifier(GatewayConfig config, @Value("${micronaut.server.host:127.0.0.1}") String bindHost,
                                @Value("${tally.gateway.jwt-clock-skew:30s}") Duration skew,
                                @Value("${tally.gateway.jwt-issuer:}") String issuer,
                                @Value("${tally.gateway.jwt-audience:}") String audience, TimeSource time) throws JOSEException {
        SigningKeys.Choice keys = SigningKeys.choose(config.jwtSecret(), config.jwksUrl(), bindHost, TokenClaims.DEVELOPMENT_SECRET);
        if (keys.development()) {
            LOG.warn("accepting tokens signed with the PUBLISHED development secret (listening on {} only). "
                + "Anyone can mint those; set TALLY_JWT_SECRET (at least 32 bytes) anywhere but on a laptop.", bindHost);
        }
        byte[] bytes = keys.hs256Secret() == null ? null : keys.hs256Secret().getBytes(StandardCharsets.UTF_8);
        if (bytes != null && bytes.length < 32) {
            throw new IllegalStateException("TALLY_JWT_SECRET is " + bytes.length + " bytes; HS256 needs at least 32. Use a longer secret.");
        }
        if (config.jwksUrl() != null && !config.jwksUrl().isBlank()) {
            LOG.info("accepting RS256/ES256 tokens verified with keys from {}{}", config.jwksUrl(), bytes == null ? " (HS256 off)" : "");
        }
        return new TokenVerifier(bytes, config.jwksUrl(), time.clock(), new TokenVerifier.Policy(skew, issuer, audience));
    }

    /** The console's dev login: on exactly when the verifier accepts the published development secret. */
    @Singleton
    DevLogin devLogin(GatewayConfig config, @Value("${micronaut.server.host:127.0.0.1}") String bindHost) {
        SigningKeys.Choice keys = SigningKeys.choose(config.jwtSecret(), config.jwksUrl(), bindHost, TokenClaims.DEVELOPMENT_SECRET);
        return keys.development() ? new DevLogin(true, keys.hs256Secret()) : new DevLogin(false, null);
    }
}
