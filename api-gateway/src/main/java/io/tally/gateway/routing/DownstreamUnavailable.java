package io.tally.gateway.routing;

/** A downstream could not be asked: breaker open, bulkhead full, unreachable or too slow. */
public final class DownstreamUnavailable extends Exception {

    private final int status;
    private final int retryAfterSeconds;

    public DownstreamUnavailable(String message, int status, int retryAfterSeconds) {
        super(message, null, false, false);
        this.status = status;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 503, or 504 for a downstream that accepted the call but did not answer in time. */
    public int status() {
        return status;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
