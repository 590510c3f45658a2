package io.tally.devstack;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

/**
 * PostgreSQL 17 from the zonky binaries. The postmaster runs detached (pg_ctl), so it outlives the
 * command that started it; its pid comes from {@code postmaster.pid}.
 */
public final class PostgresServer implements Component {

    private final StackConfig config;
    private final TrackedProcess process;
    private final Path dataDir;

    public PostgresServer(StackConfig config) {
        this.config = config;
        this.process = new TrackedProcess(config, "postgres");
        this.dataDir = config.dataDir().resolve("postgres");
    }

    @Override
    public String name() {
        return "postgres";
    }

    @Override
    public List<TrackedProcess> processes() {
        return List.of(process);
    }

    @Override
    public String address() {
        return config.jdbcUrl();
    }

    /** zonky extracts the PostgreSQL binaries and runs them within its start. */
    @Override
    public boolean startsExclusively() {
        return true;
    }

    @Override
    public void checkPorts() {
        if (!process.isAlive()) {
            Ports.requireFree("PostgreSQL", "TALLY_POSTGRES_PORT", config.postgresPort());
        }
    }

    @Override
    public void start() {
        if (process.isAlive()) {
            return;
        }
        checkPorts();
        TrackedProcess.requireStartsAllowed();
        try {
            Files.createDirectories(dataDir);
            Files.deleteIfExists(dataDir.resolve("postmaster.pid")); // stale after a crash; the port check above guards a live one
            EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setPort(config.postgresPort())
                .setRegisterShutdownHook(false)
                .setOverrideWorkingDirectory(config.binDir().resolve("postgres").toFile())
                .setServerConfig("listen_addresses", "127.0.0.1")
                .setServerConfig("max_connections", "200")
                .setServerConfig("shared_buffers", "64MB")
                .setServerConfig("fsync", "on")
                .setOutputRedirector(ProcessBuilder.Redirect.appendTo(process.logFile().toFile()))
                .setErrorRedirector(ProcessBuilder.Redirect.appendTo(process.logFile().toFile()))
                .setPGStartupWait(Duration.ofSeconds(60))
                .start();
            process.record(postmasterPid());
            createDatabase();
        } catch (IOException | RuntimeException e) {
            if (e instanceof StackException se) {
                throw se;
            }
            throw new StackException("PostgreSQL did not start: " + e.getMessage() + "; see " + process.logFile(), e);
        }
    }

    private long postmasterPid() throws IOException {
        List<String> lines = Files.readAllLines(dataDir.resolve("postmaster.pid"));
        return Long.parseLong(lines.getFirst().trim());
    }

    private void createDatabase() {
        String admin = "jdbc:postgresql://127.0.0.1:" + config.postgresPort() + "/postgres";
        try (Connection c = DriverManager.getConnection(admin, StackConfig.DB_USER, StackConfig.DB_PASSWORD);
             Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + StackConfig.DATABASE + "'")) {
                if (rs.next()) {
                    return;
                }
            }
            s.execute("CREATE DATABASE " + StackConfig.DATABASE);
        } catch (SQLException e) {
            throw new StackException("cannot create the " + StackConfig.DATABASE + " database: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean isReady() {
        if (!process.isAlive()) {
            return false;
        }
        try (Connection c = DriverManager.getConnection(config.jdbcUrl(), StackConfig.DB_USER, StackConfig.DB_PASSWORD)) {
            return c.isValid(2);
        } catch (SQLException e) {
            return false;
        }
    }

    @Override
    public void awaitReady(Deadline deadline) {
        if (!deadline.await(this::isReady, pollInterval())) {
            throw new StackException("PostgreSQL did not become ready in time; see " + process.logFile());
        }
    }

    @Override
    public void stop() {
        // SIGINT is PostgreSQL's "fast" shutdown: roll back open sessions, checkpoint, exit.
        process.stop("INT", Duration.ofSeconds(30));
        // A postmaster whose start was under way when we were asked to stop has not been recorded yet.
        Deadline.in(Duration.ofSeconds(3)).await(() -> {
            try {
                long pid = postmasterPid();
                ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .ifPresent(h -> TrackedProcess.terminate(h, "INT", Duration.ofSeconds(30)));
                return true;
            } catch (IOException | RuntimeException notThereYet) {
                return !Files.exists(dataDir.resolve("postmaster.pid"));
            }
        }, Duration.ofMillis(200));
    }
}
