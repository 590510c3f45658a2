package io.tally.rules;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.serde.ObjectMapper;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.tally.devstack.Deadline;
import io.tally.devstack.Ports;
import io.tally.model.RuleAck;
import io.tally.model.RuleRecord;
import io.tally.model.TallyHeaders;
import io.tally.model.Topics;
import io.tally.testinfra.TallyInfrastructure;
import io.tally.testinfra.TestStack;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Rules and dashboards over HTTP against real PostgreSQL and Kafka: CRUD, versions, paging, isolation, outbox, status. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RulesApiTest implements TallyInfrastructure {

    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final String RULE = """
        {"name": "Sports by country", "filter": {"categories": ["sports"]}, "groupBy": ["category", "geo"],
         "aggregations": [{"name": "events", "op": "count"}, {"name": "teams", "op": "topk", "field": "attributes.team", "k": 3}],
         "window": {"size": "PT1M", "slide": "PT10S"}, "allowedLateness": "PT30S"}""";

    @Inject
    EmbeddedServer server;
    @Inject
    ObjectMapper json;

    private final String tenant = "t" + UUID.randomUUID().toString().substring(0, 8);

    HttpResponse<String> call(String method, String path, String asTenant, String body, String... headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(server.getURI().resolve(path)).timeout(Duration.ofSeconds(30))
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        if (asTenant != null) {
            request.header(TallyHeaders.TENANT, asTenant).header(io.tally.internal.InternalToken.HEADER, io.tally.internal.InternalKey.developmentSignature(asTenant, List.of(), method, path));
        }
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> body(HttpResponse<String> response) throws Exception {
        return json.readValue(response.body(), Map.class);
    }

    @Test
    void createsReadsReplacesAndDeletesWithRisingVersions() throws Exception {
        HttpResponse<String> created = call("POST", "/api/v1/rules", tenant, RULE);
        assertEquals(201, created.statusCode(), created.body());
        Map<String, Object> rule = body(created);
        String id = (String) rule.get("id");
        assertEquals("/api/v1/rules/" + id, created.headers().firstValue("Location").orElseThrow());
        assertEquals("\"1\"", created.headers().firstValue("ETag").orElseThrow());
        assertEquals(1, rule.get("version"));
        assertEquals("pending", rule.get("status"));
        assertEquals("PT30S", rule.get("allowedLateness"));
        assertEquals("PT24H", rule.get("retention"), "defaults are filled in");
        assertTrue(((String) rule.get("createdAt")).endsWith("Z"));

        HttpResponse<String> read = call("GET", "/api/v1/rules/" + id, tenant, null);
        assertEquals(200, read.statusCode());
        assertEquals("\"1\"", read.headers().firstValue("ETag").orElseThrow());
        assertEquals(List.of("category", "geo"), body(read).get("groupBy"));

        String changed = RULE.replace("\"sports\"", "\"music\"");
        HttpResponse<String> v2 = call("PUT", "/api/v1/rules/" + id, tenant, changed, "If-Match", "\"1\"");
        assertEquals(200, v2.statusCode(), v2.body());
        assertEquals(2, body(v2).get("version"));
        assertEquals(rule.get("createdAt"), body(v2).get("createdAt"));
        HttpResponse<String> stale = call("PUT", "/api/v1/rules/" + id, tenant, changed, "If-Match", "\"1\"");
        assertEquals(412, stale.statusCode());
        assertTrue(stale.body().contains("current version is 2"), stale.body());
        HttpResponse<String> v3 = call("PUT", "/api/v1/rules/" + id, tenant, read.body()); // GET → PUT round trip, no If-Match
        assertEquals(200, v3.statusCode(), v3.body());
        assertEquals(3, body(v3).get("version"));
        assertEquals(List.of("sports"), ((Map<?, ?>) body(v3).get("filter")).get("categories"));

        assertEquals(412, call("DELETE", "/api/v1/rules/" + id, tenant, null, "If-Match", "\"2\"").statusCode());
        assertEquals(204, call("DELETE", "/api/v1/rules/" + id, tenant, null).statusCode());
        assertEquals(404, call("GET", "/api/v1/rules/" + id, tenant, null).statusCode());
        assertEquals(404, call("DELETE", "/api/v1/rules/" + id, tenant, null).statusCode());
        assertEquals(404, call("PUT", "/api/v1/rules/" + id, tenant, RULE).statusCode());

        // The relay publishes every version in order, then a tombstone that names the last version.
        List<ConsumerRecord<String, String>> published = awaitRecords(RuleRecord.key(tenant, id), 4);
        List<Integer> versions = new ArrayList<>();
        for (ConsumerRecord<String, String> r : published.subList(0, 3)) {
            versions.add(json.readValue(r.value(), RuleRecord.class).version());
        }
        assertEquals(List.of(1, 2, 3), versions);
        ConsumerRecord<String, String> tombstone = published.get(3);
        assertNull(tombstone.value());
        assertEquals("3", new String(tombstone.headers().lastHeader(RuleRecord.DELETED_VERSION_HEADER).value(), StandardCharsets.UTF_8));
        assertEquals("music", json.readValue(published.get(1).value(), RuleRecord.class).filter().categories().getFirst());
    }

    @Test
    void rejectsInvalidRulesNamingEveryProblemAndWritesNothing() throws Exception {
        String other = "bad" + tenant;
        HttpResponse<String> bad = call("POST", "/api/v1/rules", other, """
            {"name": "x", "colour": "red", "aggregations": [{"name": "n", "op": "median"}], "window": {"size": "PT1M", "slide": "PT7S"}}""");
        assertEquals(400, bad.statusCode());
        assertEquals("application/problem+json", bad.headers().firstValue("Content-Type").orElse(""));
        for (String pointer : List.of("/colour", "/aggregations/0/op", "/window/slide")) {
            assertTrue(bad.body().contains("\"pointer\":\"" + pointer + "\""), bad.body());
        }
        HttpResponse<String> notJson = call("POST", "/api/v1/rules", other, "{\"name\": ");
        assertEquals(400, notJson.statusCode());
        assertTrue(notJson.body().contains("\"pointer\":\"\""), notJson.body());
        assertEquals(415, call("POST", "/api/v1/rules", other, null, "Content-Type", "text/plain").statusCode());
        assertEquals(401, call("POST", "/api/v1/rules", null, RULE).statusCode());
        assertEquals(List.of(), body(call("GET", "/api/v1/rules", other, null)).get("rules"));
    }

    @Test
    void isolatesTenantsAndAnswersForeignIdsLikeUnknownOnes() throws Exception {
        String id = (String) body(call("POST", "/api/v1/rules", tenant, RULE)).get("id");
        String stranger = "x" + tenant;
        for (String method : List.of("GET", "DELETE")) {
            HttpResponse<String> foreign = call(method, "/api/v1/rules/" + id, stranger, null);
            assertEquals(404, foreign.statusCode());
            HttpResponse<String> unknown = call(method, "/api/v1/rules/" + UUID.randomUUID(), stranger, null);
            assertEquals(404, unknown.statusCode());
        }
        assertEquals(404, call("PUT", "/api/v1/rules/" + id, stranger, RULE).statusCode());
        assertEquals(404, call("GET", "/api/v1/rules/not-a-uuid", tenant, null).statusCode());
        assertEquals(200, call("GET", "/api/v1/rules/" + id, tenant, null).statusCode(), "the owner still sees it");
        assertFalse(call("GET", "/api/v1/rules", stranger, null).body().contains(id));
    }

    @Test
    @SuppressWarnings("unchecked")
    void pagesThroughEveryRuleOnce() throws Exception {
        String pager = "p" + tenant;
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            ids.add((String) body(call("POST", "/api/v1/rules", pager, RULE)).get("id"));
        }
        List<String> seen = new ArrayList<>();
        String token = null;
        int pages = 0;
        do {
            Map<String, Object> page = body(call("GET", "/api/v1/rules?pageSize=2" + (token == null ? "" : "&pageToken=" + token), pager, null));
            ((List<Map<String, Object>>) page.get("rules")).forEach(r -> seen.add((String) r.get("id")));
            token = (String) page.get("nextPageToken");
            pages++;
        } while (token != null);
        assertEquals(3, pages);
        assertEquals(5, seen.size());
        assertEquals(ids, new HashSet<>(seen));
        assertEquals(400, call("GET", "/api/v1/rules?pageSize=101", pager, null).statusCode());
        assertEquals(400, call("GET", "/api/v1/rules?pageSize=zero", pager, null).statusCode());
        HttpResponse<String> badToken = call("GET", "/api/v1/rules?pageToken=nonsense", pager, null);
        assertEquals(400, badToken.statusCode());
        assertTrue(badToken.body().contains("/pageToken"), badToken.body());
    }

    @Test
    void becomesActiveOnceEveryLiveAggregationInstanceHasAppliedTheVersion() throws Exception {
        HttpResponse<String> created = call("POST", "/api/v1/rules", tenant, RULE);
        String id = (String) body(created).get("id");
        ConsumerRecord<String, String> published = awaitRecords(RuleRecord.key(tenant, id), 1).getFirst();
        String one = "instance-a-" + tenant;
        String two = "instance-b-" + tenant;
        Map<Integer, Long> past = Map.of(published.partition(), published.offset() + 1);
        Map<Integer, Long> before = Map.of(published.partition(), published.offset());
        try (KafkaProducer<String, String> acks = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            TestStack.infrastructure().kafkaBootstrap()), new StringSerializer(), new StringSerializer())) {
            acks.send(new ProducerRecord<>(Topics.RULE_ACKS, one, json.writeValueAsString(new RuleAck(one, Instant.now(), past, 1, null)))).get();
            acks.send(new ProducerRecord<>(Topics.RULE_ACKS, two, json.writeValueAsString(new RuleAck(two, Instant.now(), before, 1, null)))).get();
            // One live instance has not read the version yet: still pending.
            assertTrue(Deadline.in(Duration.ofSeconds(10)).await(() -> status(id).equals("pending"), Duration.ofMillis(100)));
            acks.send(new ProducerRecord<>(Topics.RULE_ACKS, two, json.writeValueAsString(new RuleAck(two, Instant.now(), past, 1, null)))).get();
            assertTrue(Deadline.in(Duration.ofSeconds(10)).await(() -> status(id).equals("active"), Duration.ofMillis(100)),
                "both instances applied it: active");
        }
    }

    private String status(String id) {
        try {
            return (String) body(call("GET", "/api/v1/rules/" + id, tenant, null)).get("status");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void dashboardsMustNameTheTenantsRulesAndTheirGroups() throws Exception {
        String ruleId = (String) body(call("POST", "/api/v1/rules", tenant, RULE)).get("id");
        String unknown = UUID.randomUUID().toString();
        HttpResponse<String> bad = call("POST", "/api/v1/dashboards", tenant, """
            {"name": "Ops", "queries": [{"ruleId": "%s", "groups": {"geo": "US"}}, {"ruleId": "%s"},
                                        {"ruleId": "%s", "groups": {"type": "goal"}}]}""".formatted(ruleId, unknown, ruleId));
        assertEquals(400, bad.statusCode(), bad.body());
        assertTrue(bad.body().contains("\"pointer\":\"/queries/1/ruleId\""), bad.body());
        assertTrue(bad.body().contains("\"pointer\":\"/queries/2/groups/type\""), bad.body());
        assertEquals(400, call("POST", "/api/v1/dashboards", tenant, "{\"name\": \"Empty\", \"queries\": []}").statusCode());
        // Another tenant cannot point a dashboard at this tenant's rule.
        assertEquals(400, call("POST", "/api/v1/dashboards", "x" + tenant,
            "{\"queries\": [{\"ruleId\": \"" + ruleId + "\"}]}").statusCode());

        String dashboard = "{\"name\": \"Ops\", \"queries\": [{\"ruleId\": \"%s\", \"groups\": {\"geo\": \"US\"}}]}".formatted(ruleId);
        HttpResponse<String> created = call("POST", "/api/v1/dashboards", tenant, dashboard);
        assertEquals(201, created.statusCode(), created.body());
        String id = (String) body(created).get("id");
        HttpResponse<String> read = call("GET", "/api/v1/dashboards/" + id, tenant, null);
        assertEquals("\"1\"", read.headers().firstValue("ETag").orElseThrow());
        assertTrue(read.body().contains("\"geo\":\"US\""), read.body());
        assertEquals(404, call("GET", "/api/v1/dashboards/" + id, "x" + tenant, null).statusCode());
        assertEquals(200, call("PUT", "/api/v1/dashboards/" + id, tenant, dashboard.replace("Ops", "Ops 2"), "If-Match", "\"1\"").statusCode());
        assertEquals(412, call("PUT", "/api/v1/dashboards/" + id, tenant, dashboard, "If-Match", "\"1\"").statusCode());
        assertEquals(1, ((List<?>) body(call("GET", "/api/v1/dashboards", tenant, null)).get("dashboards")).size());
        assertEquals(204, call("DELETE", "/api/v1/dashboards/" + id, tenant, null).statusCode());
        assertEquals(404, call("GET", "/api/v1/dashboards/" + id, tenant, null).statusCode());
    }

    @Test
    @SuppressWarnings("unchecked")
    void showsEachRulesDeadLettersCountedOnceWithTheLatestReason() throws Exception {
        String id = (String) body(call("POST", "/api/v1/rules", tenant, RULE)).get("id");
        assertEquals(Map.of("count", 0), body(call("GET", "/api/v1/rules/" + id, tenant, null)).get("deadLetters"));
        Instant at = Instant.parse("2026-12-03T10:00:00Z");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestStack.infrastructure().kafkaBootstrap()),
            new StringSerializer(), new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            List<io.tally.model.DeadLetter> letters = List.of(
                new io.tally.model.DeadLetter(tenant, id, 1, 4, 100, "first reason", at),
                new io.tally.model.DeadLetter(tenant, id, 1, 4, 101, "first reason", at),
                new io.tally.model.DeadLetter(tenant, id, 1, 4, 100, "first reason", at), // quarantined again after a crash
                new io.tally.model.DeadLetter(tenant, id, 1, 5, 7, "key k holds a value of another type", at.plusSeconds(5)),
                new io.tally.model.DeadLetter("other" + tenant, id, 1, 5, 8, "not this tenant's", at.plusSeconds(9)));
            for (var letter : letters) {
                ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.DEAD_LETTERS, letter.key(), "{}".getBytes(StandardCharsets.UTF_8));
                letter.headers().forEach((name, value) -> record.headers().add(name, value));
                producer.send(record).get();
            }
        }
        Map<String, Object> expected = Map.of("count", 3, "lastReason", "key k holds a value of another type", "lastAt", "2026-12-03T10:00:05Z");
        assertTrue(Deadline.in(Duration.ofSeconds(30)).await(() -> {
            try {
                return expected.equals(body(call("GET", "/api/v1/rules/" + id, tenant, null)).get("deadLetters"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, Duration.ofMillis(200)), () -> "the dead letters are not on the rule: " + call0(id));
        List<Map<String, Object>> listed = (List<Map<String, Object>>) body(call("GET", "/api/v1/rules", tenant, null)).get("rules");
        assertEquals(expected, listed.stream().filter(r -> id.equals(r.get("id"))).findFirst().orElseThrow().get("deadLetters"));
        HttpResponse<String> roundTrip = call("PUT", "/api/v1/rules/" + id, tenant, call("GET", "/api/v1/rules/" + id, tenant, null).body());
        assertEquals(200, roundTrip.statusCode(), "GET → PUT works with the read-only field: " + roundTrip.body());
    }

    /** POSTs to that server as the tenant, signed as the gateway would. */
    private static java.util.function.BiFunction<String, String, HttpResponse<String>> poster(EmbeddedServer server, String tenant) {
        return (path, body) -> {
            try {
                return HTTP.send(HttpRequest.newBuilder(server.getURI().resolve(path)).header(TallyHeaders.TENANT, tenant)
                    .header(io.tally.internal.InternalToken.HEADER, io.tally.internal.InternalKey.developmentSignature(tenant, List.of(), "POST", path))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
    }

    @Test
    void refusesARuleThatWouldPassTheTenantsQuotasNamingTheQuota() throws Exception {
        String limited = "q" + tenant;
        Map<String, Object> properties = new java.util.HashMap<>(getProperties());
        properties.put("micronaut.server.port", -1);
        String small = "s" + tenant;
        properties.put("tally.quotas.tenants", limited + "=rules:2,windows:10;" + small + "=state:1");
        try (ApplicationContext context = ApplicationContext.run(properties)) {
            EmbeddedServer quoted = context.getBean(EmbeddedServer.class).start();
            java.util.function.BiFunction<String, String, HttpResponse<String>> post = poster(quoted, limited);
            String hopping = "{\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"}],\"window\":{\"size\":\"PT1M\",\"slide\":\"PT10S\"}}";
            String tumbling = "{\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"}],\"window\":{\"size\":\"PT1M\"}}";
            assertEquals(201, post.apply("/api/v1/rules", hopping).statusCode(), "6 windows per event of 10");
            HttpResponse<String> tooManyWindows = post.apply("/api/v1/rules", hopping);
            assertEquals(400, tooManyWindows.statusCode(), tooManyWindows.body());
            assertTrue(tooManyWindows.body().contains("\"pointer\":\"/window/slide\"") && tooManyWindows.body().contains("quota windows: 10"),
                tooManyWindows.body());
            assertEquals(201, post.apply("/api/v1/rules", tumbling).statusCode(), "7 windows per event, 2 rules");
            HttpResponse<String> tooManyRules = post.apply("/api/v1/rules", tumbling);
            assertEquals(400, tooManyRules.statusCode(), tooManyRules.body());
            assertTrue(tooManyRules.body().contains("quota of 2 rules"), tooManyRules.body());
            assertEquals(2, ((List<?>) body(call("GET", "/api/v1/rules", limited, null)).get("rules")).size(), "nothing was written");
            assertEquals(201, call("POST", "/api/v1/rules", tenant, tumbling).statusCode(), "other tenants keep the defaults");

            // 1 MiB of state, worst case: one ungrouped PT1M count kept a day fits (1,441 windows of one group), the same
            // grouped by category (up to 10,001 groups each) does not.
            java.util.function.BiFunction<String, String, HttpResponse<String>> postSmall = poster(quoted, small);
            assertEquals(201, postSmall.apply("/api/v1/rules", tumbling).statusCode());
            HttpResponse<String> tooMuchState = postSmall.apply("/api/v1/rules",
                "{\"groupBy\":[\"category\"],\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"}],\"window\":{\"size\":\"PT1M\"}}");
            assertEquals(400, tooMuchState.statusCode(), tooMuchState.body());
            assertTrue(tooMuchState.body().contains("\"pointer\":\"/retention\"") && tooMuchState.body().contains("quota state: 1 MiB"),
                tooMuchState.body());
        }
    }

    @Test
    void answers503WithRetryAfterWhenPostgresIsUnreachable() throws Exception {
        int dead = Ports.findFreeRange(1, false);
        try (ApplicationContext context = ApplicationContext.run(Map.of(
            "micronaut.server.port", -1,
            "datasources.default.url", "jdbc:postgresql://127.0.0.1:" + dead + "/tally",
            "flyway.datasources.default.enabled", false))) {
            EmbeddedServer down = context.getBean(EmbeddedServer.class).start();
            for (String method : List.of("POST", "GET")) {
                long start = System.nanoTime();
                HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(down.getURI().resolve("/api/v1/rules"))
                    .header(TallyHeaders.TENANT, tenant).header("Content-Type", "application/json")
                    .header(io.tally.internal.InternalToken.HEADER, io.tally.internal.InternalKey.developmentSignature(tenant, List.of(), method, "/api/v1/rules"))
                    .method(method, method.equals("POST") ? HttpRequest.BodyPublishers.ofString(RULE) : HttpRequest.BodyPublishers.noBody())
                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(503, response.statusCode(), response.body());
                assertTrue(Integer.parseInt(response.headers().firstValue("Retry-After").orElseThrow()) >= 1);
                assertFalse(response.body().contains("SQL") || response.body().contains("jdbc"), response.body());
                assertTrue(System.nanoTime() - start < Duration.ofSeconds(20).toNanos(), "bounded, not a hang");
            }
            HttpResponse<String> ready = HTTP.send(HttpRequest.newBuilder(down.getURI().resolve("/health/readiness")).build(),
                HttpResponse.BodyHandlers.ofString());
            assertEquals(503, ready.statusCode(), "readiness reflects the database");
        }
    }

    private String call0(String id) {
        try {
            return call("GET", "/api/v1/rules/" + id, tenant, null).body();
        } catch (Exception e) {
            return e.toString();
        }
    }

    /** The records for one key on tally.rules, from the beginning, once at least {@code count} are there. */
    List<ConsumerRecord<String, String>> awaitRecords(String key, int count) {
        return RulesTopic.read(r -> key.equals(r.key()), count, Duration.ofSeconds(30), Duration.ZERO);
    }
}
