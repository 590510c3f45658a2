package io.tally.devstack;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A Zipkin server (its UI and its span collector, spans kept in memory) for {@code ./tally up --tracing}: the jar comes
 * from Maven Central with the build (devstack/launcher/target/zipkin-server.jar), on {@code TALLY_ZIPKIN_PORT} (9411).
 */
public final class ZipkinServer implements Component {

    public static final int DEFAULT_PORT = 9411;

    private final StackConfig config;
    private final TrackedProcess process;
    private final int port;

    public ZipkinServer(StackConfig config) {
        this.config = config;
        this.process = new TrackedProcess(config, "zipkin");
        this.port = StackConfig.intEnv(config.env(), "TALLY_ZIPKIN_PORT", DEFAULT_PORT);
    }

    /** Where the services send spans (Zipkin's v2 JSON API). */
    public String spansEndpoint() {
        return address() + "/api/v2/spans";
    }

    public Path jar() {
        return config.home().resolve("devstack").resolve("launcher").resolve("target").resolve("zipkin-server.jar");
    }

    @Override
    public String name() {
        return "zipkin";
    }

    @Override
    public List<TrackedProcess> processes() {
        return List.of(process);
    }

    @Override
    public void checkPorts() {
        if (!process.isAlive()) {
            Ports.requireFree("zipkin", "TALLY_ZIPKIN_PORT", port);
        }
    }

    @Override
    public void start() {
        if (process.isAlive()) {
            return;
        }
        if (!Files.isRegularFile(jar())) {
            throw new StackException(jar() + " is missing: build it with ./mvnw -DskipTests package (./tally up does this for you)");
        }
        checkPorts();
        process.start(List.of(Jvm.javaExecutable(), "-Xms32m", "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-jar", jar().toString()),
            Map.of("QUERY_PORT", Integer.toString(port), "STORAGE_TYPE", "mem", "MEM_MAX_SPANS", "200000",
                "ARMERIA_PORTS_0_IP", "127.0.0.1", "ARMERIA_PORTS_0_PORT", Integer.toString(port)),
            config.home());
    }

    @Override
    public boolean isReady() {
        return process.isAlive() && TrackedProcess.answers200(address() + "/health");
    }

    @Override
    public void awaitReady(Deadline deadline) {
        process.awaitReady("zipkin", deadline, this::isReady, Duration.ofMillis(250));
    }

    @Override
    public String address() {
        return "http://127.0.0.1:" + port;
    }

    @Override
    public void stop() {
        process.stop("TERM", Duration.ofSeconds(10));
    }
}
