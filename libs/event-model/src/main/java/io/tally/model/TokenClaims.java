package io.tally.model;

import java.util.Set;

/** What Tally's bearer tokens carry (API.md, "Authentication and tenants"), for the gateway that checks them and the tools that mint them. */
public final class TokenClaims {

    /** The roles a token's {@code roles} claim may name. */
    public static final Set<String> ROLES = Set.of("producer", "admin", "viewer");

    /** Published in API.md; only for local development, used when {@code TALLY_JWT_SECRET} is unset. */
    public static final String DEVELOPMENT_SECRET = "tally-local-development-secret-0123456789";

    private TokenClaims() {
    }
}
