package io.tally.gateway.auth;

import com.nimbusds.jose.JOSEException;
import io.micronaut.context.annotation.Factory;
import io.tally.gateway.config.GatewayConfig;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Clock;

/** The gateway's token verifier from configuration: TALLY_JWT_SECRET (≥ 32 bytes) or, only when unset, the development secret. */
@Factory
public class TokenVerifierFactory {

    private static final Logger LOG = LoggerFactory.getLogger(TokenVerifierFactory.class);

    @Singleton
    TokenVerifier tokenVerifier(GatewayConfig config) throws JOSEException {
        String secret = config.jwtSecret();
        if (secret == null || secret.isEmpty()) {
            LOG.warn("TALLY_JWT_SECRET is not set: accepting tokens signed with the PUBLISHED development secret. "
                + "Anyone can mint those; set TALLY_JWT_SECRET (at least 32 bytes) anywhere but on a laptop.");
            secret = io.tally.model.TokenClaims.DEVELOPMENT_SECRET;
        }
        byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
        if (bytes.length < 32) {
            throw new IllegalStateException("TALLY_JWT_SECRET is " + bytes.length + " bytes; HS256 needs at least 32. Use a longer secret.");
        }
        if (config.jwksUrl() != null && !config.jwksUrl().isBlank()) {
            LOG.info("also accepting RS256/ES256 tokens verified with keys from {}", config.jwksUrl());
        }
        return new TokenVerifier(bytes, config.jwksUrl(), Clock.systemUTC());
    }
}
