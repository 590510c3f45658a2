package io.tally.bench;

import com.nimbusds.jose.util.JSONObjectUtils;
import io.tally.devstack.DevTokens;
import io.tally.model.TimeSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Live fan-out at scale: {@code subscriptions} subscriptions spread over {@code rules} rules (each
 * counting its own category) on {@code sockets} sockets through the gateway, while a producer posts a
 * batch for a random rule every {@code 1000/rate} ms. Push latency is measured from the 202 of a
 * batch to the first message on each subscriber's socket whose counts include it (one sample per
 * subscriber of the batch's rule). Memory per subscription is the subscription service's heap after
 * a full GC with the subscriptions minus before (pass its pid to let the benchmark run jcmd).
 * Run against a stack whose query limit lets 10,000 subscribe messages through, e.g.
 * {@code TALLY_QUERY_RATE=1000000 TALLY_QUERY_BURST=1000000 ./tally up}.
 *
 * <p>Usage: {@code java -cp bench/target/tally-benchmarks.jar io.tally.bench.SubscriptionFanout
 * [subscriptions=10000] [rules=100] [sockets=100] [seconds=60] [batchesPerSecond=20] [subscription-service pid]}
 */
public final class SubscriptionFanout {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** One posted batch: its rule, the rule's total once it is counted, and when the 202 came. */
    private record Marker(int rule, long total, long acceptedNanos) {
    }

    /** What one subscription has seen: event totals per window. */
    private static final class Seen {
        final int rule;
        final Map<String, Long> windows = new HashMap<>();
        long total;
        int nextMarker; // index into the rule's markers of the first not yet seen

        Seen(int rule) {
            this.rule = rule;
        }
    }

    public static void main(String[] args) throws Exception {
        int subscriptions = arg(args, 0, 10_000);
        int rules = arg(args, 1, 100);
        int sockets = arg(args, 2, 100);
        int seconds = arg(args, 3, 60);
        int rate = arg(args, 4, 20);
        long pid = args.length > 5 ? Long.parseLong(args[5]) : -1;
        String gateway = System.getenv().getOrDefault("TALLY_GATEWAY_URL", "http://127.0.0.1:8080");
        String subscriptionUrl = System.getenv().getOrDefault("TALLY_SUBSCRIPTION_URL", "http://127.0.0.1:18085");
        String tenant = "fanout-" + UUID.randomUUID().toString().substring(0, 6);
        String token = DevTokens.mint(DevTokens.secret(System.getenv()), "bench", tenant, List.of("producer", "admin", "viewer"), Duration.ofHours(2));

        System.out.printf("creating %d rules for tenant %s...%n", rules, tenant);
        String[] ruleIds = new String[rules];
        for (int r = 0; r < rules; r++) {
            HttpResponse<String> created = call(gateway, token, "POST", "/api/v1/rules", "{\"name\":\"fanout " + r + "\",\"filter\":{\"categories\":[\"c" + r
                + "\"]},\"groupBy\":[\"geo\"],\"aggregations\":[{\"name\":\"events\",\"op\":\"count\"}],\"window\":{\"size\":\"PT1M\"}}");
            if (created.statusCode() != 201) {
                throw new IllegalStateException("creating a rule failed: " + created.statusCode() + " " + created.body());
            }
            ruleIds[r] = (String) JSONObjectUtils.parse(created.body()).get("id");
        }
        for (String id : ruleIds) {
            long deadline = TimeSource.SYSTEM.millis() + 60_000;
            while (!"active".equals(JSONObjectUtils.parse(call(gateway, token, "GET", "/api/v1/rules/" + id, null).body()).get("status"))) {
                if (TimeSource.SYSTEM.millis() > deadline) {
                    throw new IllegalStateException("rule " + id + " did not become active");
                }
                Thread.sleep(100);
            }
        }
        long heapBefore = heapAfterGc(pid, subscriptionUrl);

        @SuppressWarnings("unchecked")
        List<Marker>[] markers = new List[rules];
        for (int r = 0; r < rules; r++) {
            markers[r] = new CopyOnWriteArrayList<>();
        }
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        AtomicLong messages = new AtomicLong();
        AtomicInteger snapshots = new AtomicInteger();
        Map<String, Seen> seen = new ConcurrentHashMap<>();
        AtomicLong measuring = new AtomicLong(Long.MAX_VALUE);

        System.out.printf("opening %d sockets with %d subscriptions...%n", sockets, subscriptions);
        long openStart = TimeSource.SYSTEM.nanos();
        List<WebSocket> open = new ArrayList<>();
        int perSocket = (subscriptions + sockets - 1) / sockets;
        int sub = 0;
        for (int s = 0; s < sockets && sub < subscriptions; s++) {
            WebSocket ws = LiveSocket.open(HTTP, gateway, token, (now, m) -> {
                if ("error".equals(m.get("type"))) {
                    System.err.println("error: " + m);
                    return;
                }
                Seen state = seen.get((String) m.get("id"));
                if ("snapshot".equals(m.get("type"))) {
                    snapshots.incrementAndGet();
                }
                messages.incrementAndGet();
                synchronized (state) {
                    for (Object o : (List<?>) m.get("windows")) {
                        Map<String, Object> window = (Map<String, Object>) o;
                        long count = LiveSocket.events(window);
                        Long before = state.windows.put((String) window.get("start"), count);
                        state.total += count - (before == null ? 0 : before);
                    }
                    List<Marker> list = markers[state.rule];
                    while (state.nextMarker < list.size() && list.get(state.nextMarker).total() <= state.total) {
                        Marker marker = list.get(state.nextMarker++);
                        if (marker.acceptedNanos() >= measuring.get()) {
                            latencies.add(Math.max(0, now - marker.acceptedNanos()));
                        }
                    }
                }
            });
            open.add(ws);
            for (int i = 0; i < perSocket && sub < subscriptions; i++, sub++) {
                int rule = sub % rules;
                String id = "s" + sub;
                seen.put(id, new Seen(rule));
                ws.sendText("{\"op\":\"subscribe\",\"id\":\"" + id + "\",\"ruleId\":\"" + ruleIds[rule] + "\"}", true).join();
            }
        }
        while (snapshots.get() < subscriptions) {
            Thread.sleep(50);
        }
        System.out.printf("  %d snapshots in %.1f s%n", subscriptions, (TimeSource.SYSTEM.nanos() - openStart) / 1e9);
        long heapWith = heapAfterGc(pid, subscriptionUrl);

        System.out.printf("producing %d batches/s for %d s...%n", rate, seconds);
        long[] totals = new long[rules];
        long end = TimeSource.SYSTEM.nanos() + seconds * 1_000_000_000L;
        long warmupEnd = TimeSource.SYSTEM.nanos() + Math.min(10, seconds / 4) * 1_000_000_000L;
        long period = 1_000_000_000L / rate;
        long next = TimeSource.SYSTEM.nanos();
        int batches = 0;
        while (TimeSource.SYSTEM.nanos() < end) {
            if (TimeSource.SYSTEM.nanos() >= warmupEnd) {
                measuring.compareAndSet(Long.MAX_VALUE, warmupEnd);
            }
            int rule = ThreadLocalRandom.current().nextInt(rules);
            int n = 10;
            StringBuilder batch = new StringBuilder("{\"events\":[");
            String now = TimeSource.SYSTEM.instant().toString();
            for (int i = 0; i < n; i++) {
                batch.append(i == 0 ? "" : ",").append("{\"id\":\"").append(UUID.randomUUID()).append("\",\"category\":\"c").append(rule)
                    .append("\",\"geo\":\"G").append(i % 5).append("\",\"time\":\"").append(now).append("\"}");
            }
            batch.append("]}");
            HttpResponse<String> r = call(gateway, token, "POST", "/api/v1/events", batch.toString());
            long accepted = TimeSource.SYSTEM.nanos();
            if (r.statusCode() != 202) {
                System.err.println("events answered " + r.statusCode() + " " + r.body());
            } else {
                totals[rule] += n;
                markers[rule].add(new Marker(rule, totals[rule], accepted));
                batches++;
            }
            next += period;
            long sleep = next - TimeSource.SYSTEM.nanos();
            if (sleep > 0) {
                Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
            }
        }
        Thread.sleep(3000); // let the last updates arrive
        long[] samples = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
        System.out.printf("%d batches (%d events), %d messages received, %d latency samples after warm-up%n",
            batches, batches * 10L, messages.get(), samples.length);
        if (samples.length > 0) {
            System.out.printf("push latency 202 → socket: p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms%n",
                pct(samples, 50), pct(samples, 90), pct(samples, 99), samples[samples.length - 1] / 1e6);
        }
        if (heapBefore > 0 && heapWith > 0) {
            System.out.printf("subscription-service heap after GC: %.1f MiB before, %.1f MiB with %d subscriptions → %.2f KiB per subscription%n",
                heapBefore / 1048576.0, heapWith / 1048576.0, subscriptions, (heapWith - heapBefore) / 1024.0 / subscriptions);
        }
        for (WebSocket ws : open) {
            ws.abort();
        }
        for (String id : ruleIds) {
            call(gateway, token, "DELETE", "/api/v1/rules/" + id, null);
        }
    }

    private static double pct(long[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100 * sorted.length) - 1)] / 1e6;
    }

    private static long heapAfterGc(long pid, String subscriptionUrl) throws Exception {
        if (pid <= 0) {
            return -1;
        }
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        new ProcessBuilder(jcmd, Long.toString(pid), "GC.run").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        Thread.sleep(500);
        String metrics = HTTP.send(HttpRequest.newBuilder(URI.create(subscriptionUrl + "/prometheus")).build(), HttpResponse.BodyHandlers.ofString()).body();
        double heap = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                heap += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return (long) heap;
    }

    private static HttpResponse<String> call(String gateway, String token, String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway + path)).timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + token)
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static int arg(String[] args, int i, int fallback) {
        return args.length > i ? Integer.parseInt(args[i]) : fallback;
    }
}
