package io.tally.gateway.auth;

import io.micronaut.http.HttpRequest;
import jakarta.inject.Singleton;

/** Finds and verifies the caller's token: {@code Authorization: Bearer …}, or {@code access_token} where allowed. */
@Singleton
public class BearerAuthenticator {

    private final TokenVerifier tokens;

    public BearerAuthenticator(TokenVerifier tokens) {
        this.tokens = tokens;
    }

    /**
     * @param queryTokenAllowed whether {@code ?access_token=} may carry the token (WebSocket upgrades:
     *                          browsers cannot set headers on them)
     */
    public Caller authenticate(HttpRequest<?> request, boolean queryTokenAllowed) throws TokenRejected {
        String header = request.getHeaders().get("Authorization");
        String token = null;
        if (header != null && !header.isBlank() && !header.trim().equalsIgnoreCase("Bearer")) {
            if (header.length() < 7 || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
                throw new TokenRejected("the Authorization header must be 'Bearer <token>'");
            }
            token = header.substring(7).trim();
        } else if (queryTokenAllowed) {
            token = request.getParameters().get("access_token");
        }
        if (token == null || token.isEmpty()) {
            throw new TokenRejected("a bearer token is required (Authorization: Bearer <JWT>); `./tally token` makes one for the local stack");
        }
        return tokens.verify(token);
    }
}
