package io.tally.results;

/** Redis cannot answer now; the caller answers 503 with Retry-After. */
public class StateUnavailableException extends RuntimeException {

    public StateUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
