package io.tally.system;

import io.micronaut.serde.ObjectMapper;

import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A producer and a reader running through the gateway as a client would while infrastructure fails under
 * them: the producer sends batches of new events and retries a refused batch with the same ids until it is
 * accepted (so every id it made is acknowledged once in the end); the reader reads the rule's results and
 * notes any counter that went down. Every request's start, duration and status is kept, for the report.
 */
final class Traffic implements AutoCloseable {

    /** One request: what it was, when it started, how long it took and how it ended (-1: no answer). */
    record Call(String kind, long startMillis, long millis, int status) {

        long endMillis() {
            return startMillis + millis;
        }

        boolean ok() {
            return status == 200 || status == 202;
        }
    }

    private static final int BATCH = 10;
    private static final ObjectMapper JSON = ObjectMapper.getDefault();

    private final Fleet fleet;
    private final String ruleId;
    private final String producer;
    private final String viewer;
    private final String runId;
    private final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<String> decreases = new ConcurrentLinkedQueue<>();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong highestRead = new AtomicLong();
    private volatile boolean running = true;
    private final List<Thread> threads = new ArrayList<>();

    Traffic(Fleet fleet, String tenant, String ruleId, String runId) {
        this.fleet = fleet;
        this.ruleId = ruleId;
        this.runId = runId;
        this.producer = Fleet.token(tenant, "producer");
        this.viewer = Fleet.token(tenant, "viewer");
    }

    Traffic start() {
        threads.add(Thread.ofPlatform().name("traffic-producer").start(this::produce));
        threads.add(Thread.ofPlatform().name("traffic-reader").start(this::read));
        return this;
    }

    private void produce() {
        long batch = 0;
        while (running) {
            StringBuilder body = new StringBuilder("{\"events\":[");
            for (int i = 0; i < BATCH; i++) {
                body.append(i == 0 ? "" : ",").append("{\"id\":\"").append(runId).append('-').append(batch).append('-').append(i)
                    .append("\",\"category\":\"failover-").append(i % 6).append("\",\"time\":\"").append(Instant.now()).append("\",\"value\":1}");
            }
            body.append("]}");
            // A refused batch is sent again with the same ids until it is accepted, as the contract tells clients to.
            while (true) {
                Call call = call("ingest", "POST", "/api/v1/events", producer, body.toString());
                if (call.status() == 202) {
                    accepted.addAndGet(BATCH);
                    break;
                }
                pause(200);
            }
            batch++;
            pause(50);
        }
    }

    private void read() {
        while (running) {
            long start = System.currentTimeMillis();
            long begin = System.nanoTime();
            int status;
            try {
                HttpResponse<String> response = Fleet.send("GET", fleet.gateway("/api/v1/rules/" + ruleId + "/results"), viewer, null);
                status = response.statusCode();
                if (status == 200) {
                    long total = total(response.body());
                    long before = highestRead.getAndAccumulate(total, Math::max);
                    if (total < before) {
                        decreases.add(Instant.ofEpochMilli(start) + ": " + before + " -> " + total);
                    }
                }
            } catch (Exception e) {
                status = -1;
            }
            calls.add(new Call("query", start, (System.nanoTime() - begin) / 1_000_000, status));
            pause(100);
        }
    }

    private Call call(String kind, String method, String path, String token, String body) {
        long start = System.currentTimeMillis();
        long begin = System.nanoTime();
        int status;
        try {
            status = Fleet.send(method, fleet.gateway(path), token, body).statusCode();
        } catch (Exception e) {
            status = -1;
        }
        Call call = new Call(kind, start, (System.nanoTime() - begin) / 1_000_000, status);
        calls.add(call);
        return call;
    }

    /** The sum of the {@code events} count over every window of a results body. */
    @SuppressWarnings("unchecked")
    static long total(String body) throws Exception {
        Map<String, Object> results = JSON.readValue(body, Map.class);
        long total = 0;
        for (Map<String, Object> w : (List<Map<String, Object>>) results.get("windows")) {
            for (Map<String, Object> g : (List<Map<String, Object>>) w.get("groups")) {
                total += ((Number) ((Map<String, Object>) g.get("values")).get("events")).longValue();
            }
        }
        return total;
    }

    /** Events acknowledged with 202 so far (each id once). */
    long accepted() {
        return accepted.get();
    }

    List<String> decreases() {
        return List.copyOf(decreases);
    }

    /** The calls of one kind that started at or after {@code fromMillis}. */
    List<Call> since(String kind, long fromMillis) {
        return calls.stream().filter(c -> c.kind().equals(kind) && c.startMillis() >= fromMillis).toList();
    }

    /** The longest call of that kind that started at or after {@code fromMillis}. */
    long longest(String kind, long fromMillis) {
        return since(kind, fromMillis).stream().mapToLong(Call::millis).max().orElse(0);
    }

    /** How long after {@code fromMillis} the first call of that kind started at or after it succeeded, or -1. */
    long backAfter(String kind, long fromMillis) {
        return since(kind, fromMillis).stream().filter(Call::ok).mapToLong(c -> c.endMillis() - fromMillis).min().orElse(-1);
    }

    long failures(String kind, long fromMillis) {
        return since(kind, fromMillis).stream().filter(c -> !c.ok()).count();
    }

    /** Stops sending; returns once the producer's last batch was accepted. */
    @Override
    public void close() throws InterruptedException {
        running = false;
        for (Thread t : threads) {
            t.join(120_000);
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
