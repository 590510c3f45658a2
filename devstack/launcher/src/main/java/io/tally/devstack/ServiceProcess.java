package io.tally.devstack;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A Tally service run from its shaded jar; ready when {@code /health/readiness} answers 200. */
public final class ServiceProcess implements Component {

    private final StackConfig config;
    private final ServiceSpec spec;
    private final TrackedProcess process;

    private final Map<String, String> extraEnvironment;

    public ServiceProcess(StackConfig config, ServiceSpec spec) {
        this(config, spec, Map.of());
    }

    /** A service told {@code extraEnvironment} on top of the stack's addresses (tracing settings, say). */
    public ServiceProcess(StackConfig config, ServiceSpec spec, Map<String, String> extraEnvironment) {
        this.extraEnvironment = extraEnvironment;
        this.config = config;
        this.spec = spec;
        this.process = new TrackedProcess(config, spec.name());
    }

    @Override
    public String name() {
        return spec.name();
    }

    @Override
    public List<TrackedProcess> processes() {
        return List.of(process);
    }

    @Override
    public String address() {
        return spec.url(config);
    }

    public Path jar() {
        return config.home().resolve(spec.name()).resolve("target").resolve(spec.name() + ".jar");
    }

    @Override
    public void checkPorts() {
        if (!process.isAlive()) {
            Ports.requireFree(spec.name(), spec.portVariable(), spec.port(config));
        }
    }

    @Override
    public void start() {
        if (process.isAlive()) {
            return;
        }
        Path jar = jar();
        if (!Files.isRegularFile(jar)) {
            throw new StackException(jar + " is missing: build it with ./mvnw -DskipTests package (./tally up does this for you)");
        }
        checkPorts();
        // A class-data-sharing archive per service, written on the first run: later starts load faster.
        Path cds = config.stateDir().resolve("cds").resolve(spec.name() + ".jsa");
        List<String> command = new ArrayList<>(List.of(Jvm.javaExecutable(),
            "-Xms32m", "-Xmx" + config.env().getOrDefault("TALLY_" + envName() + "_HEAP", spec.heap()),
            "-XX:+UseSerialGC", "-Xss512k", "-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED",
            "-XX:+AutoCreateSharedArchive", "-XX:SharedArchiveFile=" + cds, "-Xlog:cds=off", "-Xlog:cds+dynamic=off",
            "-Dmicronaut.environments=local"));
        if (spec.name().equals("aggregation-service")) {
            // Half the heap young: a batch's records, folds and scripts live while the next is read (docs/SCALING.md); a
            // metaspace threshold above what its classes take (the default set off full collections of up to 106 ms).
            command.add("-XX:NewRatio=1");
            command.add("-XX:MetaspaceSize=128m");
        }
        command.addAll(List.of("-jar", jar.toString()));
        process.start(command, environment(), config.home());
    }

    private String envName() {
        return spec.name().replace("-service", "").replace("api-", "").replace('-', '_').toUpperCase(Locale.ROOT);
    }

    /** What every service is told about the stack; the user's own environment is inherited underneath. */
    Map<String, String> environment() {
        Map<String, String> env = new HashMap<>();
        env.put("TALLY_KAFKA_BOOTSTRAP", config.kafkaBootstrap());
        env.put("TALLY_REDIS_URIS", config.redisUris());
        env.put("TALLY_POSTGRES_URL", config.jdbcUrl());
        env.put("TALLY_POSTGRES_USER", StackConfig.DB_USER);
        env.put("TALLY_POSTGRES_PASSWORD", StackConfig.DB_PASSWORD);
        for (ServiceSpec other : ServiceSpec.ALL) {
            env.put(other.portVariable(), Integer.toString(other.port(config)));
            env.put(other.urlVariable(), other.url(config));
        }
        env.putAll(extraEnvironment);
        return env;
    }

    @Override
    public boolean isReady() {
        return process.isAlive() && TrackedProcess.answers200(address() + "/health/readiness");
    }

    @Override
    public void awaitReady(Deadline deadline) {
        process.awaitReady(spec.name(), deadline, this::isReady, Duration.ofMillis(250));
    }

    @Override
    public void stop() {
        process.stop("TERM", Duration.ofSeconds(20));
    }
}
