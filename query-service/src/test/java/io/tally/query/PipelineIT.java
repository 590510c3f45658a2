package io.tally.query;

import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.serde.ObjectMapper;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.tally.devstack.Deadline;
import io.tally.devstack.Ports;
import io.tally.devstack.StackConfig;
import io.tally.model.TallyHeaders;
import io.tally.model.Topics;
import io.tally.testinfra.ServiceJar;
import io.tally.testinfra.TallyInfrastructure;
import io.tally.testinfra.TestStack;
import jakarta.inject.Inject;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ingestion and aggregation as processes, the query service in-process, real Kafka and Redis Cluster:
 * events posted through ingestion come back through the results API exactly as a ground truth says.
 */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PipelineIT implements TallyInfrastructure {

    private static final long WINDOW = 10_000;
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final List<String> CATEGORIES = List.of("sports", "movies", "tickets");
    private static final List<String> TEAMS = List.of("Lakers", "Bulls", "Celtics", "Heat", "Knicks");

    @Inject
    EmbeddedServer server;
    @Inject
    ObjectMapper json;

    private final StackConfig stack = TestStack.infrastructure();
    private final String tenant = "p" + UUID.randomUUID().toString().substring(0, 8);
    private final long base = (System.currentTimeMillis() / WINDOW - 18) * WINDOW;
    private ServiceJar ingestion;
    private ServiceJar aggregation;

    @BeforeAll
    void startServices() throws Exception {
        Map<String, String> env = Map.of("TALLY_KAFKA_BOOTSTRAP", stack.kafkaBootstrap(), "TALLY_REDIS_URIS", stack.redisUris(),
            "TALLY_AGGREGATION_GROUP_ID", "pipeline-" + tenant, "TALLY_AGGREGATION_INSTANCE_ID", "pipeline-" + tenant);
        int ingestionPort = Ports.findFreeRange(1, false);
        int aggregationPort = Ports.findFreeRange(1, false);
        Map<String, String> ingestionEnv = new java.util.HashMap<>(env);
        ingestionEnv.put("TALLY_INGESTION_PORT", Integer.toString(ingestionPort));
        Map<String, String> aggregationEnv = new java.util.HashMap<>(env);
        aggregationEnv.put("TALLY_AGGREGATION_PORT", Integer.toString(aggregationPort));
        ingestion = ServiceJar.start(System.getProperty("tally.ingestion.jar"), ingestionPort, ingestionEnv,
            java.nio.file.Path.of("target", "ingestion-it.log"), true);
        aggregation = ServiceJar.start(System.getProperty("tally.aggregation.jar"), aggregationPort, aggregationEnv,
            java.nio.file.Path.of("target", "aggregation-it.log"), true);
    }

    @AfterAll
    void stopServices() {
        if (aggregation != null) {
            aggregation.close();
        }
        if (ingestion != null) {
            ingestion.close();
        }
    }

    private org.apache.kafka.clients.producer.RecordMetadata publishRule(String id, String definition) throws Exception {
        try (KafkaProducer<String, String> rules = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()),
            new StringSerializer(), new StringSerializer())) {
            return rules.send(new ProducerRecord<>(Topics.RULES, tenant + ":" + id, definition)).get();
        }
    }

    private record Sent(String id, String category, String geo, long time, double value, String user, String team) {
        String json() {
            return "{\"id\":\"" + id + "\",\"category\":\"" + category + "\",\"geo\":\"" + geo + "\",\"time\":\"" + Instant.ofEpochMilli(time)
                + "\",\"value\":" + value + ",\"attributes\":{\"user\":\"" + user + "\",\"team\":\"" + team + "\"}}";
        }
    }

    private HttpResponse<String> get(String path, String asTenant) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(server.getURI().resolve(path)).header(TallyHeaders.TENANT, asTenant)
            .header(io.tally.internal.InternalToken.HEADER, io.tally.internal.InternalKey.developmentSignature(asTenant, java.util.List.of(), "GET", path)).build(),
            HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void countsWhatIngestionAcceptedExactlyPerWindowAndGroup() throws Exception {
        var published = publishRule("sports", """
            {"tenant":"%s","id":"sports","version":1,"name":"by category and geo","groupBy":["category","geo"],
             "aggregations":[{"name":"events","op":"count"},{"name":"revenue","op":"sum","field":"value"},
               {"name":"low","op":"min","field":"value"},{"name":"high","op":"max","field":"value"},
               {"name":"mean","op":"avg","field":"value"},{"name":"perSec","op":"rate"},
               {"name":"users","op":"distinct","field":"attributes.user"},{"name":"teams","op":"topk","field":"attributes.team","k":3}],
             "window":{"size":"PT10S"},"allowedLateness":"PT30S","retention":"PT1H"}""".formatted(tenant));
        // The contract counts events processed after the rule became active: wait for the aggregation's
        // acknowledgement of this version, and for the query service to know the rule.
        assertTrue(awaitApplied(published), "the aggregation service never acknowledged the rule");
        assertTrue(Deadline.in(Duration.ofSeconds(20)).await(() -> {
            try {
                return get("/api/v1/rules/sports/results", tenant).statusCode() == 200;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(100)), "the query service never learned the rule");

        Random random = new Random(11);
        List<Sent> sent = new ArrayList<>();
        List<Sent> originals = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            Sent e = new Sent("e" + i, CATEGORIES.get(random.nextInt(3)), random.nextBoolean() ? "US" : "DE",
                base + i * 50L - random.nextInt(15_000), random.nextInt(1000) / 10.0, "u" + random.nextInt(400), TEAMS.get(random.nextInt(5)));
            sent.add(e);
            originals.add(e);
            if (random.nextInt(10) == 0) {
                // A retry of one of the last 100 events (5 s of event time), within the rule's horizon.
                sent.add(originals.get(originals.size() - 1 - random.nextInt(Math.min(100, originals.size()))));
            }
            if (i > 500 && i % 500 == 0) {
                sent.add(new Sent("old" + i, "sports", "US", base - 3_600_000, 1.0, "u1", "Lakers"));
            }
        }
        for (int from = 0; from < sent.size(); from += 500) {
            String body = sent.subList(from, Math.min(sent.size(), from + 500)).stream().map(Sent::json).collect(Collectors.joining(",", "{\"events\":[", "]}"));
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ingestion.port() + "/api/v1/events"))
                .header(TallyHeaders.TENANT, tenant).header("Content-Type", "application/json")
                .header(io.tally.internal.InternalToken.HEADER, io.tally.internal.InternalKey.developmentSignature(tenant, java.util.List.of(), "POST", "/api/v1/events"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(202, response.statusCode(), response.body());
        }

        // Ground truth: each id once; hour-old events late; the rest in their 10 s window.
        Map<String, Map<String, List<Sent>>> truth = new TreeMap<>();
        Set<String> seen = new HashSet<>();
        long late = 0;
        for (Sent e : sent) {
            if (!seen.add(e.id())) {
                continue;
            }
            if (e.id().startsWith("old")) {
                late++;
                continue;
            }
            String window = Instant.ofEpochMilli(Math.floorDiv(e.time(), WINDOW) * WINDOW).toString();
            truth.computeIfAbsent(window, w -> new TreeMap<>()).computeIfAbsent(e.category() + "|" + e.geo(), g -> new ArrayList<>()).add(e);
        }
        long expectedTotal = truth.values().stream().flatMap(g -> g.values().stream()).mapToLong(List::size).sum();

        String from = URLEncoder.encode(Instant.ofEpochMilli(base - 60_000).toString(), StandardCharsets.UTF_8);
        String to = URLEncoder.encode(Instant.ofEpochMilli(base + 300_000).toString(), StandardCharsets.UTF_8);
        String path = "/api/v1/rules/sports/results?from=" + from + "&to=" + to;
        Map<String, Object>[] body = new Map[1];
        boolean complete = Deadline.in(Duration.ofSeconds(60)).await(() -> {
            try {
                body[0] = json.readValue(get(path, tenant).body(), Map.class);
                return total(body[0]) == expectedTotal && finalAgreesWithWatermark(body[0], 30_000);
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(250));
        assertTrue(complete, "results never reached " + expectedTotal + " events; last: " + total(body[0]));

        Map<String, Object> results = body[0];
        assertEquals("sports", results.get("ruleId"));
        assertEquals(1, ((Number) results.get("ruleVersion")).intValue());
        assertEquals(late, ((Number) results.get("lateEvents")).longValue());
        List<Map<String, Object>> windows = (List<Map<String, Object>>) results.get("windows");
        assertEquals(truth.keySet().stream().toList(), windows.stream().map(w -> (String) w.get("start")).toList(), "windows, oldest first");
        long watermark = Instant.parse((String) results.get("watermark")).toEpochMilli();
        for (Map<String, Object> window : windows) {
            Map<String, List<Sent>> groups = truth.get((String) window.get("start"));
            long end = Instant.parse((String) window.get("end")).toEpochMilli();
            assertEquals(watermark >= end + 30_000, window.get("final"), "final follows the watermark it is reported with");
            List<Map<String, Object>> actual = (List<Map<String, Object>>) window.get("groups");
            assertEquals(groups.size(), actual.size());
            for (Map<String, Object> g : actual) {
                Map<String, Object> group = (Map<String, Object>) g.get("group");
                List<Sent> events = groups.get(group.get("category") + "|" + group.get("geo"));
                Map<String, Object> values = (Map<String, Object>) g.get("values");
                String where = window.get("start") + " " + group;
                assertEquals(events.size(), ((Number) values.get("events")).longValue(), where);
                assertEquals(events.stream().mapToDouble(Sent::value).sum(), ((Number) values.get("revenue")).doubleValue(), 1e-6, where);
                assertEquals(events.stream().mapToDouble(Sent::value).min().orElseThrow(), ((Number) values.get("low")).doubleValue(), 1e-9, where);
                assertEquals(events.stream().mapToDouble(Sent::value).max().orElseThrow(), ((Number) values.get("high")).doubleValue(), 1e-9, where);
                assertEquals(events.stream().mapToDouble(Sent::value).average().orElseThrow(), ((Number) values.get("mean")).doubleValue(), 1e-6, where);
                assertEquals(events.size() / 10.0, ((Number) values.get("perSec")).doubleValue(), 1e-9, where);
                long users = events.stream().map(Sent::user).distinct().count();
                assertEquals(users, ((Number) values.get("users")).doubleValue(), Math.max(1, users * 0.02), where);
                Map<String, Long> teamCounts = events.stream().collect(Collectors.groupingBy(Sent::team, Collectors.counting()));
                List<Map<String, Object>> expectedTop = teamCounts.entrySet().stream()
                    .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                    .limit(3).map(t -> {
                        Map<String, Object> item = new LinkedHashMap<>();
                        item.put("value", t.getKey());
                        item.put("count", t.getValue().intValue());
                        return item;
                    }).toList();
                assertEquals(expectedTop, values.get("teams"), where);
            }
        }

        // Late events are kept on the late-events topic, not lost.
        Set<String> lateIds = new HashSet<>();
        Map<String, Object> lateProps = Map.of(org.apache.kafka.clients.consumer.ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
        try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]>(lateProps,
            new org.apache.kafka.common.serialization.StringDeserializer(), new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            var partitions = consumer.partitionsFor(Topics.LATE_EVENTS).stream()
                .map(p -> new org.apache.kafka.common.TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long expectedLate = late;
            Deadline.in(Duration.ofSeconds(30)).await(() -> {
                for (var record : consumer.poll(Duration.ofMillis(200))) {
                    var e = io.tally.model.EventCodec.decode(record.value());
                    if (e.tenant().equals(tenant)) {
                        lateIds.add(e.id());
                    }
                }
                return lateIds.size() >= expectedLate;
            }, Duration.ofMillis(1));
        }
        assertEquals(sent.stream().map(Sent::id).filter(id -> id.startsWith("old")).collect(Collectors.toSet()), lateIds);

        // Every flush announced the windows it changed: sequences rise strictly from announcement to
        // announcement (one aggregation instance here), the last one equals the sequence a read sees
        // now, and every window the results API serves was announced.
        Set<String> announced = new TreeSet<>();
        List<Long> seqs = new ArrayList<>();
        try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]>(lateProps,
            new org.apache.kafka.common.serialization.StringDeserializer(), new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            var partitions = consumer.partitionsFor(Topics.UPDATES).stream()
                .map(p -> new org.apache.kafka.common.TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<org.apache.kafka.common.TopicPartition, Long> end = consumer.endOffsets(partitions);
            Deadline.in(Duration.ofSeconds(30)).await(() -> {
                for (var record : consumer.poll(Duration.ofMillis(200))) {
                    if (!(tenant + ":sports").equals(record.key())) {
                        continue;
                    }
                    try {
                        Map<String, Object> change = json.readValue(record.value(), Map.class);
                        seqs.add(((Number) change.get("seq")).longValue());
                        for (Object start : (List<Object>) change.get("windows")) {
                            announced.add(Instant.ofEpochMilli(((Number) start).longValue()).toString());
                        }
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
                return partitions.stream().allMatch(p -> consumer.position(p) >= end.get(p));
            }, Duration.ofMillis(1));
        }
        assertTrue(seqs.size() > 1, "no changes were announced");
        // Never back; two announcements may share a sequence when a flush and the finalizer (closing windows) race.
        for (int i = 1; i < seqs.size(); i++) {
            assertTrue(seqs.get(i) >= seqs.get(i - 1), "update sequences must never go back: " + seqs.get(i - 1) + " then " + seqs.get(i));
        }
        Set<String> served = new TreeSet<>();
        for (Map<String, Object> window : windows) {
            served.add((String) window.get("start"));
        }
        assertTrue(announced.containsAll(served), "every window with data was announced: served " + served + ", announced " + announced);

        // /top ranks one window's groups by an aggregation, desc, ties by group key.
        String first = (String) windows.getFirst().get("start");
        Map<String, Object> top = json.readValue(get("/api/v1/rules/sports/top?metric=events&k=2&window="
            + URLEncoder.encode(first, StandardCharsets.UTF_8), tenant).body(), Map.class);
        List<Map<String, Object>> entries = (List<Map<String, Object>>) top.get("entries");
        List<Long> expectedRanking = truth.get(first).values().stream().map(l -> (long) l.size()).sorted(Comparator.reverseOrder()).limit(2).toList();
        assertEquals(expectedRanking, entries.stream().map(e -> ((Number) e.get("value")).longValue()).toList());

        // Another tenant sees the rule as unknown; bad input is a problem with a pointer.
        assertEquals(404, get("/api/v1/rules/sports/results", "someone-else").statusCode());
        assertEquals(404, get("/api/v1/rules/nope/results", tenant).statusCode());
        HttpResponse<String> bad = get("/api/v1/rules/sports/results?from=yesterday&group.team=x", tenant);
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("\"pointer\":\"/from\"") && bad.body().contains("\"pointer\":\"/group.team\""), bad.body());
        assertEquals(400, get("/api/v1/rules/sports/top?metric=teams", tenant).statusCode());
        // Group filters narrow the groups.
        Map<String, Object> filtered = json.readValue(get(path + "&group.geo=DE", tenant).body(), Map.class);
        assertTrue(((List<Map<String, Object>>) filtered.get("windows")).stream().flatMap(w -> ((List<Map<String, Object>>) w.get("groups")).stream())
            .allMatch(g -> "DE".equals(((Map<String, Object>) g.get("group")).get("geo"))));
    }

    /** Waits for the aggregation instance to acknowledge that it applied the rules record just published. */
    private boolean awaitApplied(org.apache.kafka.clients.producer.RecordMetadata published) {
        Map<String, Object> props = Map.of(org.apache.kafka.clients.consumer.ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
        try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<String, String>(props,
            new org.apache.kafka.common.serialization.StringDeserializer(), new org.apache.kafka.common.serialization.StringDeserializer())) {
            var partitions = consumer.partitionsFor(Topics.RULE_ACKS).stream()
                .map(p -> new org.apache.kafka.common.TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            return Deadline.in(Duration.ofSeconds(30)).await(() -> {
                for (var record : consumer.poll(Duration.ofMillis(200))) {
                    try {
                        if (json.readValue(record.value(), io.tally.model.RuleAck.class).hasApplied(published.partition(), published.offset())) {
                            return true;
                        }
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
                return false;
            }, Duration.ofMillis(1));
        }
    }

    /**
     * Whether every window is final exactly when the watermark reported with it passed its end plus the lateness
     * (right after a rule starts, the aggregation has not closed it yet and the two may disagree for a second).
     */
    @SuppressWarnings("unchecked")
    private static boolean finalAgreesWithWatermark(Map<String, Object> results, long latenessMillis) {
        if (results.get("watermark") == null) {
            return false;
        }
        long watermark = Instant.parse((String) results.get("watermark")).toEpochMilli();
        return ((List<Map<String, Object>>) results.get("windows")).stream().allMatch(w ->
            Boolean.valueOf(watermark >= Instant.parse((String) w.get("end")).toEpochMilli() + latenessMillis).equals(w.get("final")));
    }

    @SuppressWarnings("unchecked")
    private static long total(Map<String, Object> results) {
        if (results == null || !(results.get("windows") instanceof List<?> windows)) {
            return -1;
        }
        long total = 0;
        for (Object w : windows) {
            for (Object g : (List<Object>) ((Map<String, Object>) w).get("groups")) {
                total += ((Number) ((Map<String, Object>) ((Map<String, Object>) g).get("values")).get("events")).longValue();
            }
        }
        return total;
    }
}
