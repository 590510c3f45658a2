package io.tally.testinfra;

import io.tally.devstack.Deadline;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A Tally service's shaded jar run as its own process by a test or benchmark, on the JVM running it. */
public final class ServiceJar implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final Process process;
    private final int port;
    private final Path log;

    private ServiceJar(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /**
     * Starts {@code jar} with {@code env} (which must set the service's port variable to {@code port}),
     * output appended to {@code log}; with {@code awaitReady}, waits until {@code /health/readiness} is 200.
     */
    public static ServiceJar start(String jar, int port, Map<String, String> env, Path log, boolean awaitReady, String... jvmArgs)
        throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(jvmArgs.length == 0 ? List.of("-Xmx256m", "-XX:+UseSerialGC") : List.of(jvmArgs));
        command.addAll(List.of("-jar", jar));
        ProcessBuilder builder = new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().putAll(env);
        ServiceJar service = new ServiceJar(builder.start(), port, log);
        if (awaitReady && !Deadline.in(Duration.ofSeconds(90)).await(() -> service.isReady() || !service.process.isAlive(), Duration.ofMillis(200))) {
            service.close();
            throw new IllegalStateException(jar + " did not become ready; see " + log);
        }
        if (awaitReady && !service.process.isAlive()) {
            // Something else answered on its port (or it exited right after): it is not this service that is ready.
            throw new IllegalStateException(jar + " exited with " + service.process.exitValue() + " while starting; see " + log);
        }
        return service;
    }

    public boolean isReady() {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/readiness")).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (Exception e) {
            return false;
        }
    }

    public int port() {
        return port;
    }

    public Path log() {
        return log;
    }

    public Process process() {
        return process;
    }

    /** SIGKILL: no shutdown hook, no final flush, no commit. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /** Stops it gracefully (SIGTERM), killing it if it does not exit in 20 s. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
