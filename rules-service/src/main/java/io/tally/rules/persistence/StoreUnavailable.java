package io.tally.rules.persistence;

/** PostgreSQL could not be reached (or gave up on the statement); the request changed nothing and may be retried. */
public final class StoreUnavailable extends RuntimeException {

    public StoreUnavailable(String message, Throwable cause) {
        super(message, cause);
    }
}
