package io.tally.ingestion;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.tally.devstack.Ports;
import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.TallyHeaders;
import io.tally.model.Topics;
import io.tally.testinfra.TallyInfrastructure;
import io.tally.testinfra.TestStack;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** POST /api/v1/events against real Kafka: durable 202s, 400s that write nothing, 503s when the broker is away. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EventsEndpointTest implements TallyInfrastructure {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Inject
    EmbeddedServer server;

    private final String tenant = "t" + UUID.randomUUID().toString().substring(0, 8);

    private HttpResponse<String> post(URI base, String tenantHeader, String contentType, byte[] body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("/api/v1/events"))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", contentType)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (tenantHeader != null) {
            request.header(TallyHeaders.TENANT, tenantHeader)
                .header(io.tally.internal.InternalToken.HEADER, io.tally.internal.InternalKey.developmentSignature(tenantHeader, java.util.List.of(), "POST", "/api/v1/events"));
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String contentType, String body) throws Exception {
        return post(server.getURI(), tenant, contentType, body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static String event(String id, String category) {
        return "{\"id\":\"" + id + "\",\"category\":\"" + category + "\",\"time\":\"" + Instant.now().minusSeconds(5) + "\",\"value\":1.5}";
    }

    /** Every record on the events topic, read from the beginning. */
    private List<ConsumerRecord<String, byte[]>> eventsOnTopic() {
        Map<String, Object> props = Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestStack.infrastructure().kafkaBootstrap(),
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = IntStream.range(0, Topics.EVENT_PARTITIONS).mapToObj(p -> new TopicPartition(Topics.EVENTS, p)).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p)) && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            return records;
        }
    }

    private List<Event> eventsOf(String tenant) {
        return eventsOnTopic().stream().map(r -> EventCodec.decode(r.value())).filter(e -> e.tenant().equals(tenant)).toList();
    }

    @Test
    void acceptsABatchOnlyAfterItIsOnTheTopic() throws Exception {
        HttpResponse<String> response = post("application/json",
            "{\"events\":[" + event("a", "sports") + "," + event("b", "sports") + "," + event("c", "movies") + "]}");
        assertEquals(202, response.statusCode(), response.body());
        assertEquals("{\"accepted\":3}", response.body());
        List<ConsumerRecord<String, byte[]>> records = eventsOnTopic().stream()
            .filter(r -> EventCodec.decode(r.value()).tenant().equals(tenant)).toList();
        assertEquals(3, records.size());
        // Keyed by tenant and id: every copy of an id lands on one partition, whatever its category.
        assertEquals(List.of(tenant + ":a", tenant + ":b", tenant + ":c"), records.stream().map(ConsumerRecord::key).sorted().toList());
        assertEquals(1.5, EventCodec.decode(records.getFirst().value()).value());
    }

    @Test
    void acceptsNdjsonAndASingleEvent() throws Exception {
        assertEquals(202, post("application/x-ndjson", event("n1", "tickets") + "\n" + event("n2", "tickets") + "\n").statusCode());
        assertEquals(202, post("application/json; charset=utf-8", event("s1", "tickets")).statusCode());
        assertEquals(List.of("n1", "n2", "s1"), eventsOf(tenant).stream().map(Event::id).filter(id -> !id.matches("[abc]")).sorted().toList());
    }

    static Stream<Arguments> malformedRequests() {
        String ok = event("ok", "sports");
        String thousandAndOne = IntStream.range(0, 1001).mapToObj(i -> event("e" + i, "c")).collect(Collectors.joining(","));
        return Stream.of(
            Arguments.of("wrong type", "{\"events\":[" + ok + ",{\"id\":1,\"category\":\"c\",\"time\":\"2026-01-01T00:00:00Z\"}]}", "/events/1/id"),
            Arguments.of("missing field", "{\"events\":[" + ok + ",{\"id\":\"x\",\"time\":\"2026-01-01T00:00:00Z\"}]}", "/events/1/category"),
            Arguments.of("oversize field", "{\"id\":\"x\",\"category\":\"" + "c".repeat(101) + "\",\"time\":\"2026-01-01T00:00:00Z\"}", "/category"),
            Arguments.of("bad timestamp", "{\"id\":\"x\",\"category\":\"c\",\"time\":\"2026-01-01 00:00\"}", "/time"),
            Arguments.of("future timestamp", "{\"id\":\"x\",\"category\":\"c\",\"time\":\"" + Instant.now().plusSeconds(600) + "\"}", "/time"),
            Arguments.of("1001 events", "{\"events\":[" + thousandAndOne + "]}", "/events"),
            Arguments.of("unknown field", "{\"events\":[" + ok + "],\"tenant\":\"other\"}", "/tenant"),
            Arguments.of("not JSON", "{\"events\":[" + ok, ""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedRequests")
    void answersMalformedRequestsWith400AndWritesNothing(String name, String body, String pointer) throws Exception {
        String quiet = "q" + UUID.randomUUID().toString().substring(0, 8);
        HttpResponse<String> response = post(server.getURI(), quiet, "application/json", body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(400, response.statusCode(), response.body());
        assertEquals("application/problem+json", response.headers().firstValue("Content-Type").orElse(""));
        assertTrue(response.body().contains("\"pointer\":\"" + pointer + "\""), response.body());
        assertTrue(response.body().contains("\"status\":400"), response.body());
        assertEquals(List.of(), eventsOf(quiet), "nothing of a rejected request may be written");
    }

    @Test
    void answersBadUtf8With400() throws Exception {
        byte[] body = event("u", "sports").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        body[event("u", "sports").indexOf("sports")] = (byte) 0xFF; // never valid in UTF-8
        HttpResponse<String> response = post(server.getURI(), tenant, "application/json", body);
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(response.body().contains("UTF-8"), response.body());
    }

    @Test
    void refusesRequestsWithoutATenant() throws Exception {
        HttpResponse<String> response = post(server.getURI(), null, "application/json", event("x", "c").getBytes());
        assertEquals(401, response.statusCode());
        assertTrue(response.body().contains("gateway"), response.body());
    }

    @Test
    void refusesOtherMediaTypesAndBodiesOverOneMebibyte() throws Exception {
        HttpResponse<String> text = post(server.getURI(), tenant, "text/plain", event("x", "c").getBytes());
        assertEquals(415, text.statusCode());
        assertEquals("application/problem+json", text.headers().firstValue("Content-Type").orElse(""));
        byte[] huge = ("{\"id\":\"x\",\"category\":\"c\",\"time\":\"2026-01-01T00:00:00Z\",\"source\":\"" + "s".repeat(1_100_000) + "\"}").getBytes();
        HttpResponse<String> large = post(server.getURI(), tenant, "application/json", huge);
        assertEquals(413, large.statusCode());
        assertTrue(large.body().contains("1 MiB"), large.body());
    }

    @Test
    void answersOversizedHeadersWith431NotAsATooLargeBody() throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(server.getURI().resolve("/api/v1/events"))
            .header(TallyHeaders.TENANT, tenant).header(io.tally.internal.InternalToken.HEADER, io.tally.internal.InternalKey.developmentSignature(tenant, java.util.List.of(), "POST", "/api/v1/events"))
            .header("Content-Type", "application/json").header("X-Padding", "p".repeat(20_000))
            .POST(HttpRequest.BodyPublishers.ofString(event("h", "c"))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(431, response.statusCode(), response.body());
        assertEquals("application/problem+json", response.headers().firstValue("Content-Type").orElse(""));
        assertTrue(response.body().contains("headers"), response.body());
    }

    @Test
    void answers503WithRetryAfterWhenTheBrokerIsUnreachableAndThenFailsFast() throws Exception {
        int dead = Ports.findFreeRange(1, false);
        try (ApplicationContext context = ApplicationContext.run(Map.of(
            "micronaut.server.port", -1,
            "kafka.bootstrap.servers", "127.0.0.1:" + dead,
            "kafka.health.enabled", false,
            "tally.ingestion.ack-timeout", "4s"))) {
            EmbeddedServer down = context.getBean(EmbeddedServer.class).start();
            byte[] body = event("d", "c").getBytes();
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> response = post(down.getURI(), tenant, "application/json", body);
                assertEquals(503, response.statusCode(), response.body());
                assertTrue(Integer.parseInt(response.headers().firstValue("Retry-After").orElseThrow()) >= 1);
                assertTrue(response.body().contains("retry"), response.body());
            }
            // The failures opened the breaker: the next request is refused without waiting for the broker.
            HttpResponse<String> fast = post(down.getURI(), tenant, "application/json", body);
            assertEquals(503, fast.statusCode());
            assertTrue(fast.body().contains("paused"), fast.body());
        }
    }
}
