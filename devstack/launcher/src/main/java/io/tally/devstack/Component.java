package io.tally.devstack;

import java.time.Duration;
import java.util.List;

/** One part of the local stack: started as tracked processes, ready when it answers. */
public interface Component {

    String name();

    /** The processes that make up this component. */
    List<TrackedProcess> processes();

    /** Fails with a helpful message if a port this component would bind is taken (checked before any start). */
    void checkPorts();

    /**
     * Writes whatever files the component executes, before any process of the stack is spawned: a
     * fork while a file is still open for writing makes exec'ing that file fail ("Text file busy").
     */
    default void prepare() {
    }

    /** Whether its start writes and then executes files of its own (so it must not overlap other starts). */
    default boolean startsExclusively() {
        return false;
    }

    /** Starts whatever of this component is not running. */
    void start();

    /** Blocks until the component answers or the deadline passes; throws with a helpful message then. */
    void awaitReady(Deadline deadline);

    /** A quick probe: does it answer right now? */
    boolean isReady();

    /** Where clients reach it, for status lines. */
    String address();

    /** Stops every process of the component. */
    void stop();

    default boolean anyRunning() {
        return processes().stream().anyMatch(TrackedProcess::isAlive);
    }

    default boolean allRunning() {
        return processes().stream().allMatch(TrackedProcess::isAlive);
    }

    default Duration pollInterval() {
        return Duration.ofMillis(200);
    }
}
