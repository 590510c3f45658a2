package io.tally.devstack;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

/** Kafka, the Redis Cluster and PostgreSQL: what the services need, started side by side. */
public final class Infrastructure {

    private static final Executor STOPPER = Executors.newVirtualThreadPerTaskExecutor();

    private final StackConfig config;
    private final List<Component> components;

    public Infrastructure(StackConfig config) {
        this.config = config;
        this.components = List.of(new KafkaBroker(config), new RedisClusterNodes(config), new PostgresServer(config));
    }

    public StackConfig config() {
        return config;
    }

    public List<Component> components() {
        return components;
    }

    /**
     * Starts what is not running and waits until all of it answers. On failure, stops what this call
     * started, so a failed start leaves nothing behind. Returns the components this call started.
     */
    public List<Component> start(Duration timeout, Progress progress) {
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            return start(timeout, progress, executor);
        }
    }

    /** As {@link #start(Duration, Progress)}, running the parallel steps on {@code executor}. */
    public List<Component> start(Duration timeout, Progress progress, Executor executor) {
        config.ensureDirectories();
        List<Component> startedHere = new ArrayList<>();
        for (Component c : components) {
            if (!c.allRunning()) {
                startedHere.add(c);
            }
        }
        try {
            Deadline deadline = Deadline.in(timeout);
            // Files first, then the starts that execute their own freshly written files, then the rest in parallel.
            startedHere.forEach(Component::prepare);
            for (Component c : startedHere) {
                if (c.startsExclusively()) {
                    progress.starting(c.name());
                    c.start();
                }
            }
            List<CompletableFuture<Void>> futures = components.stream()
                .map(c -> CompletableFuture.runAsync(() -> {
                    boolean fresh = startedHere.contains(c);
                    if (fresh && !c.startsExclusively()) {
                        progress.starting(c.name());
                        c.start();
                    }
                    c.awaitReady(deadline);
                    progress.ready(c.name(), c.address(), fresh);
                }, executor))
                .toList();
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
            return startedHere;
        } catch (CompletionException | StackException e) {
            startedHere.forEach(Infrastructure::quietStop);
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof StackException se) {
                throw se;
            }
            throw new StackException("the infrastructure did not start: " + cause.getMessage(), cause);
        }
    }

    public void stop() {
        List<CompletableFuture<Void>> futures = components.stream()
            .map(c -> CompletableFuture.runAsync(() -> quietStop(c), STOPPER)).toList();
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
    }

    static void quietStop(Component c) {
        try {
            c.stop();
        } catch (RuntimeException e) {
            System.err.println("tally: stopping " + c.name() + " failed: " + e.getMessage());
        }
    }
}
