package io.tally.query;

import io.tally.devstack.Deadline;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** A Tally service jar run as its own process for a test, stopped by the test. */
final class ServiceProcess implements AutoCloseable {

    private final Process process;
    final int port;

    private ServiceProcess(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    static ServiceProcess start(String jar, String name, int port, Map<String, String> env) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
            "-Xmx256m", "-XX:+UseSerialGC", "-jar", jar)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(Path.of("target", name + "-it.log").toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().putAll(env);
        ServiceProcess service = new ServiceProcess(builder.start(), port);
        HttpClient http = HttpClient.newHttpClient();
        boolean ready = Deadline.in(Duration.ofSeconds(90)).await(() -> {
            try {
                return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/readiness")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(200));
        if (!ready) {
            service.close();
            throw new IllegalStateException(name + " did not become ready; see target/" + name + "-it.log");
        }
        return service;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
