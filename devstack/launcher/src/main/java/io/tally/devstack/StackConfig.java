package io.tally.devstack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Where the local stack lives and which ports it uses. Every value has a default that does not
 * clash with the usual ports of a developer machine and can be overridden by an environment variable.
 *
 * @param home       the repository root (service jars are found below it)
 * @param stateDir   data, logs, pid files and extracted binaries; git-ignored
 * @param kafkaPort  the broker's client listener; the KRaft controller listens on {@code kafkaPort + 1}
 * @param redisBasePort the first of six consecutive Redis Cluster node ports (bus ports are +10000)
 * @param postgresPort PostgreSQL
 */
public record StackConfig(Path home, Path stateDir, int kafkaPort, int redisBasePort, int postgresPort,
                          Map<String, String> env) {

    public static final int DEFAULT_KAFKA_PORT = 19092;
    public static final int DEFAULT_REDIS_BASE_PORT = 17001;
    public static final int DEFAULT_POSTGRES_PORT = 15432;
    public static final int REDIS_NODES = 6;
    public static final String DATABASE = "tally";
    public static final String DB_USER = "postgres";
    public static final String DB_PASSWORD = "postgres";

    /** Reads the configuration from the environment; {@code home} is the repository root. */
    public static StackConfig fromEnvironment(Path home, Map<String, String> env) {
        Path state = env.containsKey("TALLY_STATE_DIR") ? Path.of(env.get("TALLY_STATE_DIR")) : home.resolve(".tally");
        return new StackConfig(home.toAbsolutePath().normalize(), state.toAbsolutePath().normalize(),
            intEnv(env, "TALLY_KAFKA_PORT", DEFAULT_KAFKA_PORT),
            intEnv(env, "TALLY_REDIS_BASE_PORT", DEFAULT_REDIS_BASE_PORT),
            intEnv(env, "TALLY_POSTGRES_PORT", DEFAULT_POSTGRES_PORT),
            Map.copyOf(env));
    }

    static int intEnv(Map<String, String> env, String name, int defaultValue) {
        String raw = env.get(name);
        if (raw == null || raw.isBlank()) {
            return defaultValue;
        }
        try {
            int port = Integer.parseInt(raw.trim());
            if (port < 1 || port > 65535) {
                throw new NumberFormatException();
            }
            return port;
        } catch (NumberFormatException e) {
            throw new StackException(name + "=" + raw + " is not a port number (1..65535)");
        }
    }

    public int kafkaControllerPort() {
        return kafkaPort + 1;
    }

    public String kafkaBootstrap() {
        return "127.0.0.1:" + kafkaPort;
    }

    public List<Integer> redisPorts() {
        return IntStream.range(0, REDIS_NODES).map(i -> redisBasePort + i).boxed().toList();
    }

    /** Comma-separated {@code redis://} URIs of every cluster node, as the services take them. */
    public String redisUris() {
        return String.join(",", redisPorts().stream().map(p -> "redis://127.0.0.1:" + p).toList());
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + postgresPort + "/" + DATABASE;
    }

    public Path runDir() {
        return stateDir.resolve("run");
    }

    public Path logDir() {
        return stateDir.resolve("logs");
    }

    public Path dataDir() {
        return stateDir.resolve("data");
    }

    public Path binDir() {
        return stateDir.resolve("bin");
    }

    /** Creates the state folders if they are missing. */
    public void ensureDirectories() {
        for (Path dir : List.of(runDir(), logDir(), dataDir(), binDir(), stateDir.resolve("cds"))) {
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new StackException("cannot create " + dir + ": " + e.getMessage(), e);
            }
        }
    }
}
