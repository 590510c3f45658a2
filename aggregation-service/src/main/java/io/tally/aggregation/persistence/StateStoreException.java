package io.tally.aggregation.persistence;

/** Redis did not take a write in time; the batch is not committed and will be replayed. */
public class StateStoreException extends RuntimeException {

    public StateStoreException(String message) {
        super(message);
    }

    public StateStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
