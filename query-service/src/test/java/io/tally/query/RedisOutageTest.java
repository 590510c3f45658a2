package io.tally.query;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.tally.devstack.Deadline;
import io.tally.devstack.Ports;
import io.tally.devstack.StackConfig;
import io.tally.model.TallyHeaders;
import io.tally.model.Topics;
import io.tally.testinfra.TestStack;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** With the result store unreachable, results answer 503 with Retry-After, and the breaker then refuses at once. */
class RedisOutageTest {

    @Test
    void answers503WithRetryAfterAndOpensTheBreaker() throws Exception {
        StackConfig stack = TestStack.infrastructure();
        String tenant = "o" + UUID.randomUUID().toString().substring(0, 8);
        try (KafkaProducer<String, String> rules = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()),
            new StringSerializer(), new StringSerializer())) {
            rules.send(new ProducerRecord<>(Topics.RULES, tenant + ":r", """
                {"tenant":"%s","id":"r","version":1,"aggregations":[{"name":"n","op":"count"}],"window":{"size":"PT1M"}}"""
                .formatted(tenant))).get();
        }
        int dead = Ports.findFreeRange(1, false);
        try (ApplicationContext context = ApplicationContext.run(Map.of(
            "micronaut.server.port", -1,
            "kafka.bootstrap.servers", stack.kafkaBootstrap(),
            "redis.uris", "redis://127.0.0.1:" + dead,
            "redis.timeout", "500ms"))) {
            EmbeddedServer server = context.getBean(EmbeddedServer.class).start();
            HttpClient http = HttpClient.newHttpClient();
            HttpRequest request = HttpRequest.newBuilder(server.getURI().resolve("/api/v1/rules/r/results"))
                .header(TallyHeaders.TENANT, tenant).header(io.tally.internal.InternalToken.HEADER, io.tally.internal.InternalKey.developmentSignature(tenant, java.util.List.of(), "GET", "/api/v1/rules/r/results"))
                .timeout(Duration.ofSeconds(30)).build();
            HttpResponse<String>[] last = new HttpResponse[1];
            // Once the rule is known, every read fails on the store; after a few, the breaker opens.
            boolean paused = Deadline.in(Duration.ofSeconds(60)).await(() -> {
                try {
                    last[0] = http.send(request, HttpResponse.BodyHandlers.ofString());
                    if (last[0].statusCode() == 503) {
                        assertTrue(Integer.parseInt(last[0].headers().firstValue("Retry-After").orElseThrow()) >= 1);
                        assertEquals("application/problem+json", last[0].headers().firstValue("Content-Type").orElseThrow());
                    }
                    return last[0].body().contains("paused");
                } catch (Exception e) {
                    return false;
                }
            }, Duration.ofMillis(100));
            assertTrue(paused, "the breaker never opened; last answer: " + (last[0] == null ? null : last[0].statusCode() + " " + last[0].body()));
            assertEquals(503, last[0].statusCode());
        }
    }
}
