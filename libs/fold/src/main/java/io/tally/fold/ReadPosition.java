package io.tally.fold;

/**
 * Where the engine reads a partition from after an assignment or a rewind: Redis decides, Kafka only helps.
 * The committed offset says where reading stopped; the applied mark (the lowest of the Redis masters',
 * {@code null} when a master holds none) says what Redis still holds. Reading from the lower of the two never
 * skips a flush that Redis lost; the rules' fences make whatever is read twice harmless.
 */
public final class ReadPosition {

    private ReadPosition() {
    }

    /** The offset to read from, or -1 for the beginning of the log. */
    public static long of(Long committed, Long appliedMark) {
        if (appliedMark == null) {
            return committed == null ? -1 : committed;
        }
        long afterMark = appliedMark + 1;
        return committed == null ? afterMark : Math.min(committed, afterMark);
    }
}
