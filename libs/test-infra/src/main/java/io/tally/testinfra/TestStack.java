package io.tally.testinfra;

import io.tally.devstack.Infrastructure;
import io.tally.devstack.KafkaBroker;
import io.tally.devstack.Ports;
import io.tally.devstack.Progress;
import io.tally.devstack.StackConfig;
import io.tally.devstack.StackFiles;
import io.tally.devstack.TrackedProcess;
import io.tally.model.TimeSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Real Kafka, Redis Cluster and PostgreSQL for tests, started once per test JVM on free ports in a
 * throwaway folder and stopped when the JVM exits. With {@code TALLY_TEST_ATTACH=true} it attaches to
 * an already running stack instead (the one {@code ./tally up} started, or whatever the usual
 * {@code TALLY_*_PORT} variables point at).
 */
public final class TestStack {

    private static final Path ROOT = Path.of(System.getProperty("java.io.tmpdir"), "tally-test-stacks");
    private static volatile StackConfig shared;

    private TestStack() {
    }

    /** The running infrastructure's configuration, starting it on first use. */
    public static StackConfig infrastructure() {
        StackConfig config = shared;
        if (config == null) {
            synchronized (TestStack.class) {
                config = shared;
                if (config == null) {
                    config = "true".equalsIgnoreCase(System.getenv("TALLY_TEST_ATTACH")) ? attach() : startOwn();
                    shared = config;
                }
            }
        }
        return config;
    }

    private static StackConfig attach() {
        StackConfig config = StackConfig.fromEnvironment(Path.of("."), System.getenv());
        if (!Ports.inUse(config.kafkaPort()) || !Ports.inUse(config.redisBasePort()) || !Ports.inUse(config.postgresPort())) {
            throw new IllegalStateException("TALLY_TEST_ATTACH=true but no stack answers on Kafka " + config.kafkaPort()
                + ", Redis " + config.redisBasePort() + ", PostgreSQL " + config.postgresPort() + ": run ./tally up first");
        }
        return config;
    }

    private static StackConfig startOwn() {
        reapOrphans();
        Path dir = ROOT.resolve(Long.toString(ProcessHandle.current().pid()));
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("TALLY_STATE_DIR", dir.toString());
        // One block for the whole stack, so its parts never draw overlapping ports:
        // Redis nodes base..base+5 (bus +10000), Kafka base+6 and base+7, PostgreSQL base+8.
        int base = Ports.findFreeRange(StackConfig.REDIS_NODES + 3, true);
        env.put("TALLY_REDIS_BASE_PORT", Integer.toString(base));
        env.put("TALLY_KAFKA_PORT", Integer.toString(base + StackConfig.REDIS_NODES));
        env.put("TALLY_POSTGRES_PORT", Integer.toString(base + StackConfig.REDIS_NODES + 2));
        env.put("TALLY_KAFKA_HEAP", "384m");
        StackConfig config = StackConfig.fromEnvironment(dir, env);
        Infrastructure infrastructure = new Infrastructure(config);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            infrastructure.stop();
            StackFiles.deleteQuietly(dir);
        }, "tally-test-stack-stop"));
        long start = TimeSource.SYSTEM.nanos();
        infrastructure.start(Duration.ofSeconds(120), Progress.silent());
        System.out.printf("tally test stack ready in %.1f s: kafka %s, redis %s, postgres %s (state in %s)%n",
            (TimeSource.SYSTEM.nanos() - start) / 1e9, config.kafkaBootstrap(), config.redisUris(), config.jdbcUrl(), dir);
        return config;
    }

    /**
     * The Kafka broker of the stack this JVM started, for tests that stop and start it to see what a
     * service does meanwhile; empty when attached to a stack someone else runs (never stop theirs).
     */
    public static Optional<KafkaBroker> ownKafka() {
        StackConfig config = infrastructure();
        return "true".equalsIgnoreCase(System.getenv("TALLY_TEST_ATTACH")) ? Optional.empty()
            : Optional.of(new KafkaBroker(config));
    }

    /** Stops the processes of test stacks whose JVM died without its shutdown hook (kill -9). */
    private static void reapOrphans() {
        if (!Files.isDirectory(ROOT)) {
            return;
        }
        try (Stream<Path> dirs = Files.list(ROOT)) {
            for (Path dir : dirs.toList()) {
                long owner;
                try {
                    owner = Long.parseLong(dir.getFileName().toString());
                } catch (NumberFormatException e) {
                    continue;
                }
                if (ProcessHandle.of(owner).map(ProcessHandle::isAlive).orElse(false)) {
                    continue;
                }
                Map<String, String> env = Map.of("TALLY_STATE_DIR", dir.toString());
                StackConfig orphan = StackConfig.fromEnvironment(dir, env);
                try (Stream<Path> pids = Files.list(orphan.runDir())) {
                    for (Path pidFile : pids.toList()) {
                        String name = pidFile.getFileName().toString().replace(".pid", "");
                        new TrackedProcess(orphan, name).stop("KILL", Duration.ofSeconds(5));
                    }
                } catch (IOException ignored) {
                    // nothing recorded
                }
                StackFiles.deleteQuietly(dir);
            }
        } catch (IOException ignored) {
            // nothing to reap
        }
    }

}
