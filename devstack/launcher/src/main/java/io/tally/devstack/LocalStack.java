package io.tally.devstack;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** The whole local stack: infrastructure plus the six services, behind {@code ./tally up|down|status}. */
public final class LocalStack {

    private final StackConfig config;
    private final Infrastructure infrastructure;
    private final List<ServiceProcess> services;
    private final ZipkinServer zipkin;
    private final boolean tracing;

    public LocalStack(StackConfig config) {
        this(config, false);
    }

    /**
     * With {@code tracing}, {@link #up} also starts a Zipkin server and the services it starts send it their spans
     * (every trace a caller samples, and {@code TALLY_TRACING_SAMPLE_RATIO} of the rest, 1 % by default).
     */
    public LocalStack(StackConfig config, boolean tracing) {
        this.config = config;
        this.tracing = tracing;
        this.infrastructure = new Infrastructure(config);
        this.zipkin = new ZipkinServer(config);
        Map<String, String> traced = tracing
            ? Map.of("TALLY_TRACING_EXPORTER", "zipkin", "TALLY_TRACING_ENDPOINT", zipkin.spansEndpoint())
            : Map.of();
        this.services = ServiceSpec.ALL.stream().map(s -> new ServiceProcess(config, s, traced)).toList();
    }

    /** The trace UI (started by {@code up} with tracing). */
    public ZipkinServer zipkin() {
        return zipkin;
    }

    public List<ServiceProcess> services() {
        return services;
    }

    /** What {@code up} starts: the trace UI only with tracing; {@code down} and {@code status} also see it while it runs. */
    private List<Component> all() {
        List<Component> all = new ArrayList<>(infrastructure.components());
        if (tracing || zipkin.anyRunning()) {
            all.add(zipkin);
        }
        all.addAll(services);
        return all;
    }

    /** Starts whatever is not running, waits for readiness; on failure stops what it started. */
    public void up(Duration timeout, Progress progress) {
        boolean everythingRuns = all().stream().allMatch(Component::allRunning);
        if (everythingRuns && all().stream().allMatch(Component::isReady)) {
            progress.say("the stack already runs; nothing to do (./tally status shows it, ./tally down stops it)");
            return;
        }
        for (Component c : all()) {
            for (TrackedProcess p : c.processes()) {
                if (p.isDead()) {
                    progress.say(p.name() + " had stopped (pid " + p.pid().orElseThrow() + "); starting it again");
                }
            }
        }
        // Every port is checked before anything starts, so a clash costs nothing to undo.
        List<Component> notRunning = all().stream().filter(c -> !c.allRunning()).toList();
        notRunning.forEach(Component::checkPorts);
        // Interrupted (Ctrl-C) before the stack is ready: no new starts, let those under way finish,
        // then stop what this command started.
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        Thread interrupted = new Thread(() -> {
            System.out.println();
            progress.say("interrupted; stopping what this command started");
            TrackedProcess.refuseNewStarts();
            executor.shutdownNow();
            try {
                executor.awaitTermination(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            notRunning.reversed().forEach(Infrastructure::quietStop);
        }, "tally-up-interrupted");
        Runtime.getRuntime().addShutdownHook(interrupted);
        try {
            startAll(timeout, progress, executor);
        } finally {
            executor.shutdown();
            try {
                Runtime.getRuntime().removeShutdownHook(interrupted);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running already
            }
        }
    }

    private void startAll(Duration timeout, Progress progress, ExecutorService executor) {
        Deadline deadline = Deadline.in(timeout);
        List<Component> infraStartedHere = new ArrayList<>(infrastructure.start(timeout, progress, executor));

        List<ServiceProcess> startedHere = services.stream().filter(s -> !s.allRunning()).toList();
        Set<String> ready = ConcurrentHashMap.newKeySet();
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "progress");
            t.setDaemon(true);
            return t;
        });
        try {
            if (tracing && !zipkin.allRunning()) {
                progress.starting(zipkin.name());
                infraStartedHere.add(zipkin);
                zipkin.start();
            }
            if (tracing) {
                zipkin.awaitReady(deadline);
                progress.ready(zipkin.name(), zipkin.address(), infraStartedHere.contains(zipkin));
            }
            for (ServiceProcess s : startedHere) {
                progress.starting(s.name());
                s.start();
            }
            ticker.scheduleAtFixedRate(() -> {
                List<String> waiting = services.stream().map(ServiceProcess::name).filter(n -> !ready.contains(n)).toList();
                if (!waiting.isEmpty()) {
                    progress.say("waiting for " + String.join(", ", waiting));
                }
            }, 5, 5, TimeUnit.SECONDS);
            List<CompletableFuture<Void>> futures = services.stream()
                .map(s -> CompletableFuture.runAsync(() -> {
                    s.awaitReady(deadline);
                    ready.add(s.name());
                    progress.ready(s.name(), s.address(), startedHere.contains(s));
                }, executor))
                .toList();
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
        } catch (CompletionException | StackException e) {
            ticker.shutdownNow();
            progress.say("start failed; stopping what this command started");
            startedHere.forEach(Infrastructure::quietStop);
            infraStartedHere.forEach(Infrastructure::quietStop);
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof StackException se) {
                throw se;
            }
            throw new StackException("the services did not start: " + cause.getMessage(), cause);
        } finally {
            ticker.shutdownNow();
        }
    }

    /** Stops every process of the stack, services first. Returns how many were running. */
    public int down(Progress progress) {
        int running = (int) all().stream().flatMap(c -> c.processes().stream()).filter(TrackedProcess::isAlive).count();
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (ServiceProcess s : services) {
                executor.execute(() -> {
                    if (s.anyRunning()) {
                        progress.say("stopping " + s.name());
                    }
                    Infrastructure.quietStop(s);
                });
            }
        }
        for (Component c : infrastructure.components()) {
            if (c.anyRunning()) {
                progress.say("stopping " + c.name());
            }
        }
        if (zipkin.anyRunning()) {
            progress.say("stopping " + zipkin.name());
            Infrastructure.quietStop(zipkin);
        }
        infrastructure.stop();
        return running;
    }

    /** Prints one line per process: pid, address, state. Returns whether everything is up and ready. */
    public boolean status(PrintStream out) {
        out.printf("%-21s %-8s %-10s %s%n", "PROCESS", "PID", "STATE", "ADDRESS");
        boolean allReady = true;
        for (Component c : all()) {
            boolean ready = c.isReady();
            List<TrackedProcess> processes = c.processes();
            for (int i = 0; i < processes.size(); i++) {
                TrackedProcess p = processes.get(i);
                String state;
                if (p.isAlive()) {
                    state = ready ? "ready" : "not ready";
                } else if (p.isDead()) {
                    state = "DEAD";
                } else {
                    state = "stopped";
                }
                allReady &= p.isAlive() && ready;
                String address = c instanceof RedisClusterNodes ? "redis://127.0.0.1:" + config.redisPorts().get(i) : c.address();
                out.printf("%-21s %-8s %-10s %s%n", p.name(), p.pid().map(String::valueOf).orElse("-"), state, address);
            }
        }
        out.println();
        out.println("logs: " + config.logDir());
        return allReady;
    }

    public StackConfig config() {
        return config;
    }
}
