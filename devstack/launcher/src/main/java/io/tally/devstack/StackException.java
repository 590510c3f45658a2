package io.tally.devstack;

/** A failure of the local stack with a message meant for the person who ran the command. */
public class StackException extends RuntimeException {

    public StackException(String message) {
        super(message);
    }

    public StackException(String message, Throwable cause) {
        super(message, cause);
    }
}
