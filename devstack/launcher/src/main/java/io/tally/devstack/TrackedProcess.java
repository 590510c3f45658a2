package io.tally.devstack;

import io.tally.model.TimeSource;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * A process of the stack that outlives the command that started it, tracked by a pid file
 * ({@code run/<name>.pid}) and writing to {@code logs/<name>.log}.
 */
public final class TrackedProcess {

    private static final boolean HAS_SETSID = Files.isExecutable(Path.of("/usr/bin/setsid"))
        || Files.isExecutable(Path.of("/bin/setsid"));

    private static volatile boolean refusingStarts;

    private final String name;
    private final Path pidFile;
    private final Path logFile;

    public TrackedProcess(StackConfig config, String name) {
        this.name = name;
        this.pidFile = config.runDir().resolve(name + ".pid");
        this.logFile = config.logDir().resolve(name + ".log");
    }

    public String name() {
        return name;
    }

    public Path logFile() {
        return logFile;
    }

    /** The recorded pid, if any (the process may have died since). */
    public Optional<Long> pid() {
        try {
            if (!Files.exists(pidFile)) {
                return Optional.empty();
            }
            String text = Files.readString(pidFile).trim();
            return text.isEmpty() ? Optional.empty() : Optional.of(Long.parseLong(text));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Whether the recorded process still runs. */
    public boolean isAlive() {
        return pid().flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
    }

    /** Whether a pid was recorded for a process that is gone (crashed or killed by hand). */
    public boolean isDead() {
        return pid().isPresent() && !isAlive();
    }

    /** From now on this JVM starts no process (it is being interrupted and cleans up). */
    public static void refuseNewStarts() {
        refusingStarts = true;
    }

    static void requireStartsAllowed() {
        if (refusingStarts) {
            throw new StackException("interrupted");
        }
    }

    /** Records a pid of a process started elsewhere (PostgreSQL's postmaster). */
    public void record(long pid) {
        try {
            Files.writeString(pidFile, Long.toString(pid));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void forget() {
        try {
            Files.deleteIfExists(pidFile);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts the command in its own session (so a Ctrl-C of the launching terminal does not reach it),
     * output appended to the log file, and records its pid.
     */
    public long start(List<String> command, Map<String, String> environment, Path workDir) {
        requireStartsAllowed();
        try {
            Files.createDirectories(logFile.getParent());
            Files.createDirectories(pidFile.getParent());
            var full = new ArrayList<String>();
            if (HAS_SETSID) {
                full.add("setsid");
            }
            full.addAll(command);
            ProcessBuilder builder = new ProcessBuilder(full)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            builder.environment().putAll(environment);
            Files.writeString(logFile, "---- " + TimeSource.SYSTEM.instant() + " starting " + String.join(" ", command) + System.lineSeparator(),
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            Process process = builder.start();
            record(process.pid());
            return process.pid();
        } catch (IOException e) {
            throw new StackException("cannot start " + name + ": " + e.getMessage(), e);
        }
    }

    /**
     * Stops the process: the given signal first, SIGKILL after the grace period. Returns whether a
     * running process was stopped.
     */
    public boolean stop(String signal, Duration grace) {
        Optional<ProcessHandle> handle = pid().flatMap(ProcessHandle::of).filter(ProcessHandle::isAlive);
        boolean wasRunning = handle.isPresent();
        handle.ifPresent(h -> terminate(h, signal, grace));
        forget();
        return wasRunning;
    }

    static void terminate(ProcessHandle handle, String signal, Duration grace) {
        try {
            if ("TERM".equals(signal)) {
                handle.destroy();
            } else {
                new ProcessBuilder("kill", "-" + signal, Long.toString(handle.pid())).inheritIO().start().waitFor();
            }
            handle.onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            handle.destroyForcibly();
            try {
                handle.onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // reported by the caller's next status
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            handle.destroyForcibly();
        } catch (Exception e) {
            handle.destroyForcibly();
        }
    }

    /** The last lines of the log, for error messages that say what went wrong. */
    public String logTail(int lines) {
        try {
            if (!Files.exists(logFile)) {
                return "(no log at " + logFile + ")";
            }
            List<String> all = Files.readAllLines(logFile, StandardCharsets.ISO_8859_1);
            return String.join(System.lineSeparator(), all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(cannot read " + logFile + ": " + e.getMessage() + ")";
        }
    }

    /**
     * Polls {@code ready} until it holds; fails at once, with the end of the log, when the process exits meanwhile, and
     * with where to look when the deadline passes.
     */
    public void awaitReady(String what, Deadline deadline, BooleanSupplier ready, Duration interval) {
        boolean answered = deadline.await(() -> {
            if (!isAlive()) {
                throw new StackException(what + " exited during start-up; the end of " + logFile() + ":\n" + logTail(25));
            }
            return ready.getAsBoolean();
        }, interval);
        if (!answered) {
            throw new StackException(what + " did not become ready in time; see " + logFile());
        }
    }

    /** Whether {@code url} answers 200 within two seconds. */
    public static boolean answers200(String url) {
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).GET().build();
            return PROBE.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static final HttpClient PROBE = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
}
