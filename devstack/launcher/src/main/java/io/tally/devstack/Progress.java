package io.tally.devstack;

import io.tally.model.TimeSource;

import java.io.OutputStream;
import java.io.PrintStream;

/** Start-up progress, one line per step with the time since the command began. */
public class Progress {

    private final PrintStream out;
    private final long startNanos = TimeSource.SYSTEM.nanos();

    public Progress(PrintStream out) {
        this.out = out;
    }

    /** Progress that prints nothing (tests). */
    public static Progress silent() {
        return new Progress(new PrintStream(OutputStream.nullOutputStream()));
    }

    public double elapsedSeconds() {
        return (TimeSource.SYSTEM.nanos() - startNanos) / 1e9;
    }

    public synchronized void say(String message) {
        out.printf("[%5.1fs] %s%n", elapsedSeconds(), message);
        out.flush();
    }

    public void starting(String name) {
        say("starting " + name + " ...");
    }

    public void ready(String name, String address, boolean fresh) {
        say(String.format("%-21s %s  (%s)", name, fresh ? "ready" : "already running", address));
    }
}
