package io.tally.rules.persistence;

/** A conditional write named a version that is no longer current. */
public final class VersionConflict extends RuntimeException {

    private final int current;

    public VersionConflict(int current) {
        super("current version is " + current, null, false, false);
        this.current = current;
    }

    public int current() {
        return current;
    }
}
