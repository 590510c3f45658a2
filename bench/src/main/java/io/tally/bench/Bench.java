package io.tally.bench;

import io.tally.devstack.Deadline;
import io.tally.devstack.DevTokens;
import io.tally.devstack.Ports;
import io.tally.devstack.StackConfig;
import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.StateKeys;
import io.tally.model.Topics;
import io.tally.testinfra.ServiceJar;
import io.tally.testinfra.TestStack;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * {@code ./tally bench [--quick]}: one generated workload on one broker, measured four ways —
 * the ceiling (a plain consumer), Tally (one aggregation instance, results checked exact), the same
 * job in Kafka Streams, and through the gateway freshness and query latency while ingesting.
 * Writes bench/results/latest.json, latest.md and latest.png.
 */
public final class Bench {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private Bench() {
    }

    public static void main(String[] args) throws Exception {
        boolean quick = List.of(args).contains("--quick");
        Path root = Path.of(System.getProperty("tally.root", "."));
        Workload.Params params = new Workload.Params(42, quick ? 400_000 : 2_000_000, 3_000, 1.1, 0.10, 0.05, 4_000,
            quick ? 20 * 60_000L : 40 * 60_000L, 100_000, 30);
        Map<String, Object> results = new LinkedHashMap<>();
        long started = System.currentTimeMillis();
        step("workload: " + params.asMap());
        StackConfig stack = TestStack.infrastructure();
        String run = Long.toString(System.currentTimeMillis() % 1_000_000, 36);
        String tenant = "bench-" + run;
        long windowMillis = 60_000;
        long start = (System.currentTimeMillis() - params.spanMillis() - 10 * windowMillis) / windowMillis * windowMillis;
        List<Event> events = Workload.generate(params, tenant, start);
        Truth truth = Truth.of(events);
        step(String.format("generated %,d events (%,d unique ids, %,d categories seen)", events.size(), truth.unique, truth.trending.values().stream()
            .flatMap(m -> m.keySet().stream()).distinct().count()));

        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()))) {
            Map<TopicPartition, Long> before = ends(admin, Topics.EVENTS);
            write(stack, tenant, events);
            Map<TopicPartition, Long> after = ends(admin, Topics.EVENTS);

            double raw = rawConsume(stack, before, after);
            step(String.format("raw consume: %,.0f events/s", raw));
            results.put("rawConsume.eventsPerSec", Math.round(raw));

            Path logs = Files.createDirectories(root.resolve("bench/results/logs"));
            int aggregationPort = Ports.findFreeRange(1, false);
            String group = "bench-" + run;
            String aggregationJar = root.resolve("aggregation-service/target/aggregation-service.jar").toString();
            long backlog = after.values().stream().mapToLong(Long::longValue).sum();
            // The aggregation group starts at the beginning: earlier runs' records are backlog too, and count in the rate.
            ServiceJar aggregation = ServiceJar.start(aggregationJar, aggregationPort, Map.of("TALLY_KAFKA_BOOTSTRAP", stack.kafkaBootstrap(),
                "TALLY_REDIS_URIS", stack.redisUris(), "TALLY_AGGREGATION_PORT", Integer.toString(aggregationPort),
                "TALLY_AGGREGATION_GROUP_ID", group, "TALLY_AGGREGATION_INSTANCE_ID", group), logs.resolve("aggregation.log"), false,
                "-Xmx512m", "-XX:+UseParallelGC");
            List<ServiceJar> services = new ArrayList<>(List.of(aggregation));
            try {
                double tally = timeGroup(admin, group, Set.of(Topics.EVENTS), "Tally (1 aggregation instance)");
                double tallyRate = backlog / tally;
                String exact = checkTally(stack, tenant, truth);
                step(String.format("Tally: %,.0f events/s over %,d records; results %s", tallyRate, backlog, exact));
                results.put("tally.eventsPerSec", Math.round(tallyRate));
                Map<String, Object> phases = flushPhases(aggregationPort);
                results.put("tally.flushSecondsByPhase", phases);
                step("  where the aggregation's time went (s per flush phase): " + phases);
                results.put("tally.exact", exact.equals("EXACT"));

                Path state = Files.createTempDirectory("tally-kstreams");
                double ksRate;
                try (StreamsBaseline streams = new StreamsBaseline(stack.kafkaBootstrap(), tenant, state)) {
                    streams.start();
                    double seconds = timeGroup(admin, streams.applicationId, null, "Kafka Streams (exactly_once_v2, 2 threads)");
                    ksRate = backlog / seconds;
                    long counted = streams.countedByTrending();
                    step(String.format("Kafka Streams: %,.0f events/s; trending counted %,d of %,d unique events", ksRate, counted, truth.unique));
                    results.put("kafkaStreams.eventsPerSec", Math.round(ksRate));
                    results.put("kafkaStreams.exact", counted == truth.unique);
                }
                results.put("ratioVsKafkaStreams", round2(tallyRate / ksRate));
                results.put("fractionOfRawConsume", round2(tallyRate / raw));

                live(stack, root, logs, services, results, quick);
            } finally {
                services.forEach(ServiceJar::close);
            }
        }
        results.put("workload", params.asMap());
        Map<String, Object> machine = new LinkedHashMap<>();
        machine.put("cores", Runtime.getRuntime().availableProcessors());
        machine.put("memoryGiB", Math.round(((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
            .getTotalMemorySize() / 1073741824.0));
        machine.put("jdk", System.getProperty("java.vendor") + " " + System.getProperty("java.version"));
        results.put("machine", machine);
        results.put("date", Instant.now().toString());
        results.put("mode", quick ? "quick" : "full");
        results.put("elapsedSeconds", (System.currentTimeMillis() - started) / 1000);
        Path out = Files.createDirectories(root.resolve("bench/results"));
        Report.write(out, results);
        step("results: " + out.resolve("latest.json") + ", latest.md, latest.png");
        System.exit(0);
    }

    static void step(String message) {
        System.out.printf("[%s] %s%n", Instant.now().toString().substring(11, 19), message);
    }

    static double round2(double v) {
        return Math.round(v * 100) / 100.0;
    }

    /** Per-window ground truth of the rules that are checked exactly. */
    static final class Truth {
        long unique;
        final Map<Long, Map<String, Long>> trending = new TreeMap<>();
        final Map<Long, Map<String, double[]>> revenue = new TreeMap<>(); // window → geo → {count, sum}

        static Truth of(List<Event> events) {
            Truth t = new Truth();
            Set<String> seen = new HashSet<>();
            for (Event e : events) {
                if (!seen.add(e.id())) {
                    continue;
                }
                t.unique++;
                long w = Math.floorDiv(e.timeMillis(), 60_000L) * 60_000L;
                t.trending.computeIfAbsent(w, x -> new HashMap<>()).merge(e.category(), 1L, Long::sum);
                for (long s = w - 4 * 60_000L; s <= w; s += 60_000L) {
                    double[] cs = t.revenue.computeIfAbsent(s, x -> new HashMap<>()).computeIfAbsent(e.geo(), g -> new double[2]);
                    cs[0]++;
                    cs[1] += e.value();
                }
            }
            return t;
        }
    }

    private static void write(StackConfig stack, String tenant, List<Event> events) throws Exception {
        try (KafkaProducer<String, String> rules = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()),
            new StringSerializer(), new StringSerializer())) {
            for (Map.Entry<String, String> rule : Workload.rules(tenant).entrySet()) {
                rules.send(new ProducerRecord<>(Topics.RULES, tenant + ":" + rule.getKey(), rule.getValue())).get();
            }
        }
        long t0 = System.nanoTime();
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap(),
            ProducerConfig.LINGER_MS_CONFIG, 20, ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024, ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4",
            ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.BUFFER_MEMORY_CONFIG, 128L * 1024 * 1024), new StringSerializer(), new ByteArraySerializer())) {
            int i = 0;
            for (Event e : events) {
                // The record timestamp is the event time, so Kafka Streams windows by event time as Tally does.
                producer.send(new ProducerRecord<>(Topics.EVENTS, null, e.timeMillis(), e.partitionKey(), EventCodec.encode(e)));
                if (++i % 200_000 == 0) {
                    step(String.format("  written %,d of %,d", i, events.size()));
                }
            }
        }
        step(String.format("wrote %,d events to %s in %.1f s", events.size(), Topics.EVENTS, (System.nanoTime() - t0) / 1e9));
    }

    private static Map<TopicPartition, Long> ends(Admin admin, String topic) throws Exception {
        Map<TopicPartition, Long> end = new HashMap<>();
        Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
        admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions()
            .forEach(p -> ask.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
        admin.listOffsets(ask).all().get().forEach((p, info) -> end.put(p, info.offset()));
        return end;
    }

    /** A plain consumer reading this run's records and doing nothing else: the ceiling. */
    private static double rawConsume(StackConfig stack, Map<TopicPartition, Long> from, Map<TopicPartition, Long> to) {
        Map<String, Object> props = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap(),
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000, ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 * 1024 * 1024,
            ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 * 1024 * 1024);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(from.keySet());
            from.forEach(consumer::seek);
            long total = to.values().stream().mapToLong(Long::longValue).sum() - from.values().stream().mapToLong(Long::longValue).sum();
            long read = 0;
            long t0 = System.nanoTime();
            while (read < total) {
                read += consumer.poll(Duration.ofMillis(200)).count();
            }
            return total / ((System.nanoTime() - t0) / 1e9);
        }
    }

    /**
     * Seconds from the group's first commit until its committed offsets reach the end of every
     * topic it reads ({@code topics} null: every topic it has offsets for, repartition topics included).
     */
    private static double timeGroup(Admin admin, String group, Set<String> topics, String what) throws Exception {
        step("timing " + what + " ...");
        long[] first = {0};
        long[] lastReport = {System.nanoTime()};
        boolean done = Deadline.in(Duration.ofMinutes(30)).await(() -> {
            try {
                Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
                if (committed.isEmpty()) {
                    return false;
                }
                if (first[0] == 0) {
                    first[0] = System.nanoTime();
                }
                Set<String> reading = topics != null ? topics : committed.keySet().stream().map(TopicPartition::topic).collect(Collectors.toSet());
                long lag = 0;
                for (String topic : reading) {
                    for (Map.Entry<TopicPartition, Long> end : ends(admin, topic).entrySet()) {
                        OffsetAndMetadata c = committed.get(end.getKey());
                        lag += end.getValue() - (c == null ? 0 : c.offset());
                    }
                }
                if (System.nanoTime() - lastReport[0] > 5_000_000_000L) {
                    step(String.format("  %s: %,d records behind", what, lag));
                    lastReport[0] = System.nanoTime();
                }
                // With exactly-once, transaction markers occupy offsets: "caught up" allows one per partition.
                return lag <= committed.size();
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(50));
        if (!done) {
            throw new IllegalStateException(what + " did not catch up in 30 minutes");
        }
        return (System.nanoTime() - first[0]) / 1e9;
    }

    /** Compares Tally's stored trending counts and revenue counts/sums with the ground truth. */
    private static String checkTally(StackConfig stack, String tenant, Truth truth) {
        RedisClusterClient client = RedisClusterClient.create(List.of(stack.redisUris().split(",")).stream().map(RedisURI::create).toList());
        try (var redis = client.connect()) {
            String sep = String.valueOf(StateKeys.SEP);
            for (Map.Entry<Long, Map<String, Long>> w : truth.trending.entrySet()) {
                Map<String, String> hash = redis.sync().hgetall(StateKeys.window(tenant, "trending", 1, w.getKey()));
                for (Map.Entry<String, Long> c : w.getValue().entrySet()) {
                    String stored = hash.get("[\"" + c.getKey() + "\"]" + sep + "events");
                    if (stored == null || Long.parseLong(stored) != c.getValue()) {
                        return "WRONG (trending " + Instant.ofEpochMilli(w.getKey()) + " " + c.getKey() + ": " + stored + " != " + c.getValue() + ")";
                    }
                }
            }
            for (Map.Entry<Long, Map<String, double[]>> w : truth.revenue.entrySet()) {
                Map<String, String> hash = redis.sync().hgetall(StateKeys.window(tenant, "revenue", 1, w.getKey()));
                for (Map.Entry<String, double[]> g : w.getValue().entrySet()) {
                    String count = hash.get("[\"" + g.getKey() + "\"]" + sep + "events");
                    String sum = hash.get("[\"" + g.getKey() + "\"]" + sep + "revenue");
                    if (count == null || Long.parseLong(count) != (long) g.getValue()[0]
                        || sum == null || Math.abs(Double.parseDouble(sum) - g.getValue()[1]) > 1e-6 * Math.max(1, g.getValue()[1])) {
                        return "WRONG (revenue " + Instant.ofEpochMilli(w.getKey()) + " " + g.getKey() + ")";
                    }
                }
            }
            String late = redis.sync().hget(StateKeys.meta(tenant, "trending"), "late");
            return late == null || late.equals("0") ? "EXACT" : "WRONG (" + late + " late events)";
        } finally {
            client.shutdown();
        }
    }

    /** Through the gateway while ingesting: freshness of sampled events and query latency. */
    private static void live(StackConfig stack, Path root, Path logs, List<ServiceJar> services, Map<String, Object> results, boolean quick)
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
        String tenant = "live-" + Long.toString(System.currentTimeMillis() % 1_000_000, 36);
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
                return probe(gateway, token, "warmup-" + System.nanoTime(), 10_000) >= 0;
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
                String now = Instant.now().toString();
                for (int i = 0; i < 100; i++) {
                    batch.append(i == 0 ? "" : ",").append("{\"id\":\"").append(java.util.UUID.randomUUID()).append("\",\"category\":\"c")
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
                long micros = probe(gateway, token, "p" + i + "-" + System.nanoTime(), 10_000);
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
            long until = System.nanoTime() + seconds * 1_000_000_000L;
            List<Thread> threads = new ArrayList<>();
            for (int r = 0; r < readers; r++) {
                threads.add(Thread.ofPlatform().start(() -> {
                    while (System.nanoTime() < until) {
                        long t0 = System.nanoTime();
                        try {
                            HttpResponse<Void> response = HTTP.send(HttpRequest.newBuilder(URI.create(gateway + "/api/v1/rules/fresh/results"))
                                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.discarding());
                            if (response.statusCode() == 200) {
                                latencies.add((System.nanoTime() - t0) / 1000);
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
    private static void push(String gateway, String token, Map<String, Object> results, int subscriptions, int probes) throws Exception {
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
        long window = System.currentTimeMillis() / 60_000 * 60_000;
        if (System.currentTimeMillis() > window + 60_000 - probes * 130L - 5_000) {
            Thread.sleep(window + 60_000 - System.currentTimeMillis() + 100); // start with a fresh window
            window += 60_000;
        }
        for (int i = 0; i < probes; i++) {
            if (System.currentTimeMillis() > window + 55_000) {
                break;
            }
            String body = "{\"id\":\"push-" + System.nanoTime() + "\",\"category\":\"push\",\"geo\":\"US\",\"time\":\"" + Instant.ofEpochMilli(window + 1000) + "\"}";
            acceptedAt.set(System.nanoTime());
            if (post(gateway, token, body) == 202) {
                acceptedAt.set(System.nanoTime());
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

    /** The aggregation instance's own flush-phase timers: seconds spent per phase. */
    private static Map<String, Object> flushPhases(int port) throws Exception {
        String metrics = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/prometheus")).build(),
            HttpResponse.BodyHandlers.ofString()).body();
        Map<String, Object> phases = new TreeMap<>();
        for (String line : metrics.split("\n")) {
            if (line.startsWith("tally_aggregation_flush") && line.contains("_seconds_sum{")) {
                int at = line.indexOf("phase=\"");
                String phase = at < 0 ? line.substring(0, line.indexOf('{')) : line.substring(at + 7, line.indexOf('"', at + 7));
                phases.put(phase, round2(Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))));
            }
        }
        return phases;
    }

    /** Posts one event of a new category; microseconds from its 202 until a query shows it, or -1. */
    private static long probe(String gateway, String token, String category, long timeoutMillis) throws Exception {
        String body = "{\"id\":\"" + category + "\",\"category\":\"" + category + "\",\"time\":\"" + Instant.now() + "\"}";
        if (post(gateway, token, body) != 202) {
            return -1;
        }
        long accepted = System.nanoTime();
        HttpRequest read = HttpRequest.newBuilder(URI.create(gateway + "/api/v1/rules/fresh/results?group.category=" + category))
            .header("Authorization", "Bearer " + token).build();
        while (System.nanoTime() - accepted < timeoutMillis * 1_000_000) {
            String answer = HTTP.send(read, HttpResponse.BodyHandlers.ofString()).body();
            if (answer.contains("\"events\":1")) {
                return (System.nanoTime() - accepted) / 1000;
            }
            Thread.sleep(2);
        }
        return -1;
    }

    private static int post(String gateway, String token, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(gateway + "/api/v1/events")).header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    static double pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p / 100 * sorted.length) - 1))];
    }
}
