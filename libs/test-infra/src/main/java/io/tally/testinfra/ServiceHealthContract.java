package io.tally.testinfra;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.tally.devstack.Ports;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The health contract every Tally service keeps: readiness covers each infrastructure dependency it
 * uses and fails when they are unreachable; liveness and Prometheus metrics are exposed.
 * A concrete test is a {@code @MicronautTest} that names the service's dependencies.
 */
public abstract class ServiceHealthContract implements TallyInfrastructure {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** The readiness indicators this service must report, e.g. {@code kafka}, {@code redis}, {@code jdbc}. */
    protected abstract List<String> dependencies();

    /** The running service under test. */
    protected abstract EmbeddedServer server();

    @Override
    public Map<String, String> extraProperties() {
        return Map.of("endpoints.health.details-visible", "ANONYMOUS");
    }

    @Test
    void readinessReportsEveryDependencyUp() throws Exception {
        HttpResponse<String> response = get(server().getURI(), "/health/readiness");
        assertEquals(200, response.statusCode(), response.body());
        for (String dependency : dependencies()) {
            assertTrue(response.body().contains("\"" + dependency + "\":{"), "readiness does not cover " + dependency + ": " + response.body());
            String section = response.body().substring(response.body().indexOf("\"" + dependency + "\":{"));
            assertTrue(section.substring(0, Math.min(section.length(), 200)).contains("\"status\":\"UP\""),
                dependency + " is not UP: " + response.body());
        }
    }

    @Test
    void livenessIsUp() throws Exception {
        HttpResponse<String> response = get(server().getURI(), "/health/liveness");
        assertEquals(200, response.statusCode(), response.body());
        assertTrue(response.body().contains("\"status\":\"UP\""), response.body());
    }

    @Test
    void exposesPrometheusMetrics() throws Exception {
        HttpResponse<String> response = get(server().getURI(), "/prometheus");
        assertEquals(200, response.statusCode());
        assertTrue(response.body().contains("jvm_memory_used_bytes"), "no JVM metrics in /prometheus");
    }

    @Test
    void readinessFailsWhenDependenciesAreUnreachable() throws Exception {
        Map<String, Object> broken = new HashMap<>(server().getApplicationContext().getEnvironment()
            .getProperties("micronaut.application"));
        broken.clear();
        broken.put("micronaut.server.port", -1);
        broken.put("endpoints.health.details-visible", "ANONYMOUS");
        int dead = Ports.findFreeRange(1, false);
        broken.put("kafka.bootstrap.servers", "127.0.0.1:" + dead);
        broken.put("kafka.health.timeout", "2s");
        broken.put("redis.uris", "redis://127.0.0.1:" + dead);
        broken.put("datasources.default.url", "jdbc:postgresql://127.0.0.1:" + dead + "/tally");
        broken.put("flyway.datasources.default.enabled", false);
        try (ApplicationContext context = ApplicationContext.run(broken)) {
            EmbeddedServer server = context.getBean(EmbeddedServer.class).start();
            HttpResponse<String> response = get(server.getURI(), "/health/readiness");
            assertEquals(503, response.statusCode(), "readiness must fail without its dependencies: " + response.body());
            for (String dependency : dependencies()) {
                assertTrue(response.body().contains("\"" + dependency + "\":{"), "readiness does not cover " + dependency + ": " + response.body());
            }
        }
    }

    private static HttpResponse<String> get(URI base, String path) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30)).GET().build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
