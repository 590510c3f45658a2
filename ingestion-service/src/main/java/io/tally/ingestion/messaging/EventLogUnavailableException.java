package io.tally.ingestion.messaging;

/** The broker did not acknowledge every event of a request in time; the client should retry. */
public class EventLogUnavailableException extends RuntimeException {

    private final int retryAfterSeconds;
    private final boolean breakerOpen;

    public EventLogUnavailableException(String message, int retryAfterSeconds, Throwable cause) {
        super(message, cause);
        this.retryAfterSeconds = retryAfterSeconds;
        this.breakerOpen = cause instanceof io.github.resilience4j.circuitbreaker.CallNotPermittedException;
    }

    /** Whether the request was refused by the open circuit breaker without trying the broker. */
    public boolean breakerOpen() {
        return breakerOpen;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
