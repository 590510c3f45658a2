package io.tally.bench;

import io.tally.devstack.Deadline;
import io.tally.devstack.DevTokens;
import io.tally.devstack.Ports;
import io.tally.devstack.StackConfig;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import io.tally.testinfra.ServiceJar;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static io.tally.bench.Bench.pct;
import static io.tally.bench.Bench.round2;
import static io.tally.bench.Bench.step;

/** The live phase of the bench, through the gateway while ingesting: freshness of sampled events, query latency and push latency. */
final class LivePhase {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private LivePhase() {
    }

    /** Through the gateway while ingesting: freshness of sampled events and query latency. */
    static void live(StackConfig stack, Path root, Path logs, List<ServiceJar> services, Map<String, Object> results, boolean quick)
        throws Exception {
        int ingestionPort = Ports.findFreeRange(1, false);
        int queryPort = Ports.findFreeRange(1, false);
        int gatewayPort = Ports.findFreeRange(1, false);
        int subscriptionPort = Ports.findFreeRange(1, false);
        Map<String, String> env = new HashMap<>(Map.of("TALLY_KAFKA_BOOTSTRAP", stack.kafkaBootstrap(), "TALLY_REDIS_URIS", stack.redisUris(),
            "TALLY_INGESTION_PORT", Integer.toString(ingestionPort), "TALLY_QUERY_PORT", Integer.toString(queryPort),
            "TALLY_GATEWAY_PORT", Integer.toString(gatewayPort), "TALLY_INGESTION_URL", "http://127.0.0.1:" + ingestionPort,
            "TALLY_QUERY_URL", "http://127.0.0.1:" + queryPort));
        env.putAll(Map.of("TALLY_SUBSCRIPTION_PORT", Integer.toString(subscriptionPort), "TALLY_SUBSCRIPTION_URL", "http://127.0.0.1:" + subscriptionPort));
        env.putAll(Map.of("TALLY_INGEST_RATE", "10000000", "TALLY_INGEST_BURST", "10000000", "TALLY_QUERY_RATE", "10000000", "TALLY_QUERY_BURST", "10000000"));
        step("starting ingestion, query, subscription and gateway services for the live measurements ...");
        services.add(ServiceJar.start(root.resolve("subscription-service/target/subscription-service.jar").toString(), subscriptionPort, env,
            logs.resolve("subscription.log"), true, "-Xmx256m", "-XX:+UseSerialGC"));
        services.add(ServiceJar.start(root.resolve("ingestion-service/target/ingestion-service.jar").toString(), ingestionPort, env,
            logs.resolve("ingestion.log"), true, "-Xmx192m", "-XX:+UseSerialGC"));
        services.add(ServiceJar.start(root.resolve("query-service/target/query-service.jar").toString(), queryPort, env,
            logs.resolve("query.log"), true, "-Xmx192m", "-XX:+UseSerialGC"));
        services.add(ServiceJar.start(root.resolve("api-gateway/target/api-gateway.jar").toString(), gatewayPort, env,
            logs.resolve("gateway.log"), true, "-Xmx192m", "-XX:+UseSerialGC"));
        String gateway = "http://127.0.0.1:" + gatewayPort;
        String tenant = "live-" + Long.toString(TimeSource.SYSTEM.millis() % 1_000_000, 36);
        String token = DevTokens.mint(DevTokens.DEVELOPMENT_SECRET, "bench", tenant, List.of("producer", "viewer"), Duration.ofHours(1));
        try (KafkaProducer<String, String> rules = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()),
            new StringSerializer(), new StringSerializer())) {
            rules.send(new ProducerRecord<>(Topics.RULES, tenant + ":fresh", """
                {"tenant":"%s","id":"fresh","version":1,"groupBy":["category"],"aggregations":[{"name":"events","op":"count"}],
                 "window":{"size":"PT1M"},"allowedLateness":"PT5S","retention":"PT1H"}""".formatted(tenant))).get();
            rules.send(new ProducerRecord<>(Topics.RULES, tenant + ":push", """
                {"tenant":"%s","id":"push","version":1,"filter":{"categories":["push"]},"groupBy":["geo"],
                 "aggregations":[{"name":"events","op":"count"}],"window":{"size":"PT1M"},"allowedLateness":"PT5S","retention":"PT1H"}"""
                .formatted(tenant))).get();
        }
        // The rule counts once the aggregation has read it: wait for a first probe to be counted.
        if (!Deadline.in(Duration.ofSeconds(60)).await(() -> {
            try {
                return probe(gateway, token, "warmup-" + TimeSource.SYSTEM.nanos(), 10_000) >= 0;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(200))) {
            throw new IllegalStateException("the live rule never counted an event; see " + logs);
        }
        AtomicBoolean ingesting = new AtomicBoolean(true);
        long[] ingested = {0};
        Thread load = Thread.ofPlatform().start(() -> {
            while (ingesting.get()) {
                StringBuilder batch = new StringBuilder("{\"events\":[");
                String now = TimeSource.SYSTEM.instant().toString();
                for (int i = 0; i < 100; i++) {
                    batch.append(i == 0 ? "" : ",").append("{\"id\":\"").append(UUID.randomUUID()).append("\",\"category\":\"c")
                        .append(ThreadLocalRandom.current().nextInt(100)).append("\",\"time\":\"").append(now).append("\"}");
                }
                try {
                    if (post(gateway, token, batch.append("]}").toString()) == 202) {
                        ingested[0] += 100;
                    }
                    Thread.sleep(20);
                } catch (Exception e) {
                    return;
                }
            }
        });
        try {
            int probes = quick ? 100 : 400;
            step("freshness: " + probes + " probes while ingesting ~5,000 events/s through the gateway ...");
            List<Long> fresh = new ArrayList<>();
            for (int i = 0; i < probes; i++) {
                long micros = probe(gateway, token, "p" + i + "-" + TimeSource.SYSTEM.nanos(), 10_000);
                if (micros >= 0) {
                    fresh.add(micros);
                }
                Thread.sleep(50);
            }
            long[] f = fresh.stream().mapToLong(Long::longValue).sorted().toArray();
            results.put("tally.freshnessP50Ms", round2(pct(f, 50) / 1000.0));
            results.put("tally.freshnessP99Ms", round2(pct(f, 99) / 1000.0));
            results.put("tally.freshnessSamples", f.length);
            step(String.format("freshness 202 → visible in a query: p50 %.1f ms, p99 %.1f ms (%d samples)", pct(f, 50) / 1000.0, pct(f, 99) / 1000.0, f.length));

            push(gateway, token, results, quick ? 1_000 : 5_000, quick ? 100 : 300);

            int readers = 8;
            long seconds = quick ? 15 : 60;
            step("query latency: " + readers + " concurrent dashboard reads for " + seconds + " s while ingesting ...");
            ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
            long until = TimeSource.SYSTEM.nanos() + seconds * 1_000_000_000L;
            List<Thread> threads = new ArrayList<>();
            for (int r = 0; r < readers; r++) {
                threads.add(Thread.ofPlatform().start(() -> {
                    while (TimeSource.SYSTEM.nanos() < until) {
                        long t0 = TimeSource.SYSTEM.nanos();
                        try {
                            HttpResponse<Void> response = HTTP.send(HttpRequest.newBuilder(URI.create(gateway + "/api/v1/rules/fresh/results"))
                                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.discarding());
                            if (response.statusCode() == 200) {
                                latencies.add((TimeSource.SYSTEM.nanos() - t0) / 1000);
                            }
                        } catch (Exception e) {
                            return;
                        }
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            long[] q = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            results.put("query.p50Ms", round2(pct(q, 50) / 1000.0));
            results.put("query.p99Ms", round2(pct(q, 99) / 1000.0));
            results.put("query.requestsPerSec", Math.round(q.length / (double) seconds));
            results.put("query.concurrency", readers);
            step(String.format("query latency: p50 %.2f ms, p99 %.2f ms, %,d requests/s", pct(q, 50) / 1000.0, pct(q, 99) / 1000.0, q.length / seconds));
        } finally {
            ingesting.set(false);
            load.join();
        }
        results.put("live.ingestedEvents", ingested[0]);
    }

    /**
     * Push latency: {@code subscriptions} subscriptions to one rule on sockets of 100 through the
     * gateway; each probe event's 202 is timed to the first message on every socket's subscriptions
     * that counts it.
     */
    @SuppressWarnings("unchecked")

    static void push(String gateway, String token, Map<String, Object> results, int subscriptions, int probes) throws Exception {
        step("push latency: " + subscriptions + " subscriptions, " + probes + " probe events ...");
        int sockets = Math.max(1, subscriptions / 100);
        AtomicLong expected = new AtomicLong();
        AtomicLong acceptedAt = new AtomicLong();
        AtomicInteger snapshots = new AtomicInteger();
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        Map<String, long[]> totals = new ConcurrentHashMap<>(); // subscription → {count seen, last expected credited}
        List<WebSocket> open = new ArrayList<>();
        for (int s = 0; s < sockets; s++) {
            WebSocket ws = LiveSocket.open(HTTP, gateway, token, (now, m) -> {
                if ("snapshot".equals(m.get("type"))) {
                    snapshots.incrementAndGet();
                }
                if (m.get("id") == null || m.get("windows") == null) {
                    return; // not a message this measurement reads
                }
                long count = 0;
                for (Object window : (List<?>) m.get("windows")) {
                    count += LiveSocket.events((Map<String, Object>) window);
                }
                long[] t = totals.computeIfAbsent((String) m.get("id"), k -> new long[2]);
                synchronized (t) {
                    t[0] = Math.max(t[0], count); // one window: its count is the total
                    long want = expected.get();
                    if (want > t[1] && t[0] >= want && "update".equals(m.get("type"))) {
                        latencies.add((now - acceptedAt.get()) / 1000);
                        t[1] = want;
                    }
                }
            });
            open.add(ws);
            for (int i = 0; i < subscriptions / sockets; i++) {
                ws.sendText("{\"op\":\"subscribe\",\"id\":\"s" + s + "-" + i + "\",\"ruleId\":\"push\"}", true).join();
            }
        }
        int wanted = sockets * (subscriptions / sockets);
        if (!Deadline.in(Duration.ofSeconds(60)).await(() -> snapshots.get() >= wanted, Duration.ofMillis(50))) {
            throw new IllegalStateException("only " + snapshots.get() + " of " + wanted + " snapshots arrived");
        }
        // Events of one minute window: probes stop before its end so every count lands in one window.
        long window = TimeSource.SYSTEM.millis() / 60_000 * 60_000;
        if (TimeSource.SYSTEM.millis() > window + 60_000 - probes * 130L - 5_000) {
            Thread.sleep(window + 60_000 - TimeSource.SYSTEM.millis() + 100); // start with a fresh window
            window += 60_000;
        }
        for (int i = 0; i < probes; i++) {
            if (TimeSource.SYSTEM.millis() > window + 55_000) {
                break;
            }
            String body = "{\"id\":\"push-" + TimeSource.SYSTEM.nanos() + "\",\"category\":\"push\",\"geo\":\"US\",\"time\":\"" + Instant.ofEpochMilli(window + 1000) + "\"}";
            acceptedAt.set(TimeSource.SYSTEM.nanos());
            if (post(gateway, token, body) == 202) {
                acceptedAt.set(TimeSource.SYSTEM.nanos());
                expected.incrementAndGet();
            }
            Thread.sleep(100);
        }
        Thread.sleep(2000);
        open.forEach(WebSocket::abort);
        long[] p = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
        results.put("push.subscriptions", wanted);
        results.put("push.p50Ms", round2(pct(p, 50) / 1000.0));
        results.put("push.p99Ms", round2(pct(p, 99) / 1000.0));
        results.put("push.samples", p.length);
        step(String.format("push latency 202 → socket: p50 %.1f ms, p99 %.1f ms (%d samples over %d subscriptions)",
            pct(p, 50) / 1000.0, pct(p, 99) / 1000.0, p.length, wanted));
    }

    /** Posts one event of a new category; microseconds from its 202 until a query shows it, or -1. */
    static long probe(String gateway, String token, String category, long timeoutMillis) throws Exception {
        String body = "{\"id\":\"" + category + "\",\"category\":\"" + category + "\",\"time\":\"" + TimeSource.SYSTEM.instant() + "\"}";
        if (post(gateway, token, body) != 202) {
            return -1;
        }
        long accepted = TimeSource.SYSTEM.nanos();
        HttpRequest read = HttpRequest.newBuilder(URI.create(gateway + "/api/v1/rules/fresh/results?group.category=" + category))
            .header("Authorization", "Bearer " + token).build();
        while (TimeSource.SYSTEM.nanos() - accepted < timeoutMillis * 1_000_000) {
            String answer = HTTP.send(read, HttpResponse.BodyHandlers.ofString()).body();
            if (answer.contains("\"events\":1")) {
                return (TimeSource.SYSTEM.nanos() - accepted) / 1000;
            }
            Thread.sleep(2);
        }
        return -1;
    }

    static int post(String gateway, String token, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(gateway + "/api/v1/events")).header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }
}
