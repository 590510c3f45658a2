package io.tally.gateway.auth;

/** A bearer token that does not authenticate anyone (→ 401); the message says why without echoing the token. */
public final class TokenRejected extends Exception {

    public TokenRejected(String message) {
        super(message, null, false, false);
    }
}
