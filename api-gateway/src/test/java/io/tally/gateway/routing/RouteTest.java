package io.tally.gateway.routing;

import io.tally.gateway.ratelimit.Limits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** The role table of API.md, route by route. */
class RouteTest {

    @ParameterizedTest(name = "{0} {1} → {2} for {3}")
    @CsvSource({
        "POST,   /api/v1/events,                 INGESTION,    producer,     INGEST",
        "GET,    /api/v1/rules,                  RULES,        viewer admin, QUERY",
        "POST,   /api/v1/rules,                  RULES,        admin,        QUERY",
        "GET,    /api/v1/rules/r1,               RULES,        viewer admin, QUERY",
        "PUT,    /api/v1/rules/r1,               RULES,        admin,        QUERY",
        "DELETE, /api/v1/rules/r1,               RULES,        admin,        QUERY",
        "GET,    /api/v1/rules/r1/results,       QUERY,        viewer admin, QUERY",
        "GET,    /api/v1/rules/r1/top,           QUERY,        viewer admin, QUERY",
        "GET,    /api/v1/dashboards,             RULES,        viewer admin, QUERY",
        "POST,   /api/v1/dashboards,             RULES,        admin,        QUERY",
        "PUT,    /api/v1/dashboards/d1,          RULES,        admin,        QUERY",
        "DELETE, /api/v1/dashboards/d1,          RULES,        admin,        QUERY",
        "GET,    /api/v1/subscriptions,          SUBSCRIPTION, viewer admin, QUERY",
        "POST,   /api/v1/admin/replay,           RULES,        admin,        QUERY",
        "GET,    /api/v1/limits,                 GATEWAY,      viewer admin, QUERY",
    })
    void routesEachEndpointWithItsRoles(String method, String path, Route.Service service, String roles, Limits.Kind bucket) {
        Route route = ((Route.Found) assertInstanceOf(Route.Found.class, Route.match(method, path))).route();
        assertEquals(service, route.service());
        assertEquals(Set.of(roles.split(" ")), route.roles());
        assertEquals(bucket, route.bucket());
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"GET, /api/v1/events", "DELETE, /api/v1/rules", "POST, /api/v1/rules/r1", "POST, /api/v1/rules/r1/results", "GET, /api/v1/admin/replay", "POST, /api/v1/limits"})
    void refusesOtherMethods(String method, String path) {
        assertInstanceOf(Route.MethodNotAllowed.class, Route.match(method, path));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"/api/v2/rules", "/api/v1/unknown", "/api/v1/rules/r1/other", "/api/v1/rules/r1/results/x", "/api/v1/events/1", "/api/v1/rules/r1/",
        "/api/v1/admin", "/api/v1/admin/other", "/api/v1/admin/replay/x", "/api/v1/limits/ingest"})
    void answersUnknownPathsWith404(String path) {
        assertInstanceOf(Route.NotFound.class, Route.match("GET", path));
    }
}
