package io.tally.rules;

import io.tally.devstack.Deadline;
import io.tally.devstack.KafkaBroker;
import io.tally.devstack.Ports;
import io.tally.devstack.StackConfig;
import io.tally.model.RuleRecord;
import io.tally.model.TallyHeaders;
import io.tally.testinfra.ServiceJar;
import io.tally.testinfra.TestStack;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The outbox relay as a real process against real PostgreSQL and Kafka: the broker away while rules change,
 * the relay killed between send and mark, two replicas relaying one database.
 */
class OutboxRelayIT {

    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final Pattern VERSION = Pattern.compile("\"version\":\\s*(\\d+)");
    private static final String RULE = """
        {"name": "r", "aggregations": [{"name": "events", "op": "count"}], "window": {"size": "PT1M"}}""";

    private final StackConfig stack = TestStack.infrastructure();
    private final String tenant = "o" + UUID.randomUUID().toString().substring(0, 8);
    private final List<ServiceJar> running = new ArrayList<>();

    @AfterEach
    void stopServices() {
        running.forEach(ServiceJar::close);
    }

    private ServiceJar start(Map<String, String> extra) throws Exception {
        int port = Ports.findFreeRange(1, false);
        Map<String, String> env = new HashMap<>(Map.of(
            "TALLY_RULES_PORT", Integer.toString(port),
            "TALLY_KAFKA_BOOTSTRAP", stack.kafkaBootstrap(),
            "TALLY_POSTGRES_URL", stack.jdbcUrl(),
            "TALLY_RULES_RELAY_INTERVAL", "200ms"));
        env.putAll(extra);
        ServiceJar jar = ServiceJar.start(System.getProperty("tally.service.jar"), port, env, Path.of("target", "rules-relay-it.log"), true);
        running.add(jar);
        return jar;
    }

    private HttpResponse<String> call(ServiceJar service, String method, String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + path))
            .header(TallyHeaders.TENANT, tenant).header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
            .header(io.tally.internal.InternalToken.HEADER, io.tally.internal.InternalKey.developmentSignature(tenant, java.util.List.of(), method, path))
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build(),
            HttpResponse.BodyHandlers.ofString());
    }

    private static String id(HttpResponse<String> created) {
        Matcher m = Pattern.compile("\"id\":\"([^\"]+)\"").matcher(created.body());
        assertTrue(m.find(), created.body());
        return m.group(1);
    }

    @Test
    void changesMadeWhileTheBrokerIsDownArePublishedOncePerVersionInOrderWhenItReturns() throws Exception {
        KafkaBroker kafka = TestStack.ownKafka().orElse(null);
        Assumptions.assumeTrue(kafka != null, "attached to a stack this test must not stop");
        ServiceJar rules = start(Map.of());
        String a = id(call(rules, "POST", "/api/v1/rules", RULE));
        assertEquals(1, records(RuleRecord.key(tenant, a), 1).size());

        kafka.stop();
        String b;
        try {
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> put = call(rules, "PUT", "/api/v1/rules/" + a, RULE.replace("\"r\"", "\"r" + i + "\""));
                assertEquals(200, put.statusCode(), "rule changes are accepted while Kafka is down: " + put.body());
            }
            HttpResponse<String> created = call(rules, "POST", "/api/v1/rules", RULE);
            assertEquals(201, created.statusCode());
            b = id(created);
            assertEquals(204, call(rules, "DELETE", "/api/v1/rules/" + a, null).statusCode());
            assertEquals("pending", call(rules, "GET", "/api/v1/rules/" + b, null).body().replaceAll(".*\"status\":\"(\\w+)\".*", "$1"));
        } finally {
            kafka.start();
            kafka.awaitReady(Deadline.in(Duration.ofSeconds(60)));
        }
        List<ConsumerRecord<String, String>> forA = records(RuleRecord.key(tenant, a), 5);
        assertEquals(List.of("1", "2", "3", "4", "tombstone of 4"), describe(forA));
        assertEquals(List.of("1"), describe(records(RuleRecord.key(tenant, b), 1)));
    }

    @Test
    void aRelayKilledBetweenSendAndMarkSendsAgainAndLosesNothing() throws Exception {
        ServiceJar dying = start(Map.of("TALLY_RULES_HALT_AFTER_SEND", "1"));
        try {
            call(dying, "POST", "/api/v1/rules", RULE);
        } catch (java.io.IOException e) {
            // the process may halt before it answers: the change is committed either way
        }
        assertTrue(Deadline.in(Duration.ofSeconds(30)).await(() -> !dying.process().isAlive(), Duration.ofMillis(100)),
            "the relay halted after sending");
        List<ConsumerRecord<String, String>> sent = recordsOfTenant(1);
        String key = sent.getFirst().key();
        ServiceJar rules = start(Map.of());
        List<ConsumerRecord<String, String>> again = records(key, 2);
        assertEquals(List.of("1", "1"), describe(again), "sent again after the crash: a duplicate, never a loss");
        assertEquals(header(again.get(0), "tally-outbox-id"), header(again.get(1), "tally-outbox-id"), "a re-send carries the same outbox id");
        String id = key.substring(key.indexOf(':') + 1);
        assertEquals(200, call(rules, "PUT", "/api/v1/rules/" + id, RULE).statusCode());
        assertEquals(List.of("1", "1", "2"), describe(records(key, 3)));
    }

    @Test
    void twoReplicasOnOneDatabaseKeepEachRulesVersionsInOrder() throws Exception {
        ServiceJar one = start(Map.of());
        ServiceJar two = start(Map.of());
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ids.add(id(call(i % 2 == 0 ? one : two, "POST", "/api/v1/rules", RULE)));
        }
        int changes = 15;
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (String id : ids) {
                done.add(pool.submit(() -> {
                    for (int v = 0; v < changes; v++) {
                        // Alternate replicas: each change commits on one, either relay may publish it.
                        HttpResponse<String> put = call(v % 2 == 0 ? one : two, "PUT", "/api/v1/rules/" + id, RULE);
                        assertEquals(200, put.statusCode(), put.body());
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        for (String id : ids) {
            List<String> versions = describe(records(RuleRecord.key(tenant, id), changes + 1));
            List<String> expected = new ArrayList<>();
            for (int v = 1; v <= changes + 1; v++) {
                expected.add(Integer.toString(v));
            }
            assertEquals(expected, versions, "rule " + id + " published once per version, in order");
        }
    }

    private static String header(ConsumerRecord<String, String> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** "3" for version 3, "tombstone of 3" for a delete. */
    private static List<String> describe(List<ConsumerRecord<String, String>> records) {
        return records.stream().map(r -> {
            if (r.value() == null) {
                return "tombstone of " + header(r, RuleRecord.DELETED_VERSION_HEADER);
            }
            Matcher m = VERSION.matcher(r.value());
            return m.find() ? m.group(1) : "?";
        }).toList();
    }

    private List<ConsumerRecord<String, String>> recordsOfTenant(int atLeast) {
        return read(r -> r.key() != null && r.key().startsWith(tenant + ":"), atLeast);
    }

    private List<ConsumerRecord<String, String>> records(String key, int atLeast) {
        List<ConsumerRecord<String, String>> found = read(r -> key.equals(r.key()), atLeast);
        assertTrue(found.size() >= atLeast, "expected at least " + atLeast + " records for " + key + ", got " + describe(found));
        return found;
    }

    /** Reads all of tally.rules until {@code atLeast} matching records are there (or 60 s passed), and 1 s more for extras. */
    private List<ConsumerRecord<String, String>> read(java.util.function.Predicate<ConsumerRecord<String, String>> match, int atLeast) {
        return RulesTopic.read(match, atLeast, Duration.ofSeconds(60), Duration.ofSeconds(1));
    }
}
