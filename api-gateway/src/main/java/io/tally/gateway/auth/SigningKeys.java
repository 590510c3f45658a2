package io.tally.gateway.auth;

import io.tally.internal.Loopback;

import java.net.URI;

/**
 * Which token keys the gateway may run with, decided once at start-up. The published development secret is
 * accepted only while the gateway listens on loopback and nothing better is configured; anywhere else the
 * gateway refuses to start without a real secret or a JWKS URL (https, except on loopback).
 */
public final class SigningKeys {

    /** The outcome: the HS256 secret to verify with (null: HS256 off) and whether it is the development one. */
    public record Choice(String hs256Secret, boolean development) {
    }

    private SigningKeys() {
    }

    /**
     * @param secret    {@code TALLY_JWT_SECRET}, may be empty
     * @param jwksUrl   {@code TALLY_JWT_JWKS_URL}, may be empty
     * @param bindHost  the address the gateway listens on
     * @param developmentSecret the published development secret
     * @throws IllegalStateException with what to set, when the configuration must not run
     */
    public static Choice choose(String secret, String jwksUrl, String bindHost, String developmentSecret) {
        boolean hasSecret = secret != null && !secret.isEmpty();
        boolean hasJwks = jwksUrl != null && !jwksUrl.isBlank();
        boolean loopback = isLoopback(bindHost);
        if (hasJwks) {
            URI uri;
            try {
                uri = URI.create(jwksUrl);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("TALLY_JWT_JWKS_URL '" + jwksUrl + "' is not a URL");
            }
            if (!"https".equalsIgnoreCase(uri.getScheme()) && !("http".equalsIgnoreCase(uri.getScheme()) && isLoopback(uri.getHost()))) {
                throw new IllegalStateException("TALLY_JWT_JWKS_URL must use https (plain http only to a loopback address): " + jwksUrl);
            }
        }
        if (hasSecret) {
            if (secret.equals(developmentSecret) && !loopback) {
                throw new IllegalStateException("TALLY_JWT_SECRET is the published development secret while the gateway listens on "
                    + bindHost + ": anyone could mint tokens. Set a secret of your own (at least 32 random bytes) or a JWKS URL.");
            }
            return new Choice(secret, secret.equals(developmentSecret));
        }
        if (hasJwks) {
            return new Choice(null, false);
        }
        if (!loopback) {
            throw new IllegalStateException("the gateway listens on " + bindHost + " but neither TALLY_JWT_SECRET nor TALLY_JWT_JWKS_URL is set;"
                + " the development secret is only for loopback. Set TALLY_JWT_SECRET (at least 32 random bytes) or TALLY_JWT_JWKS_URL.");
        }
        return new Choice(developmentSecret, true);
    }

    /** Whether {@code host} names only this machine (127.0.0.0/8, ::1, localhost). */
    static boolean isLoopback(String host) {
        return Loopback.is(host);
    }
}
