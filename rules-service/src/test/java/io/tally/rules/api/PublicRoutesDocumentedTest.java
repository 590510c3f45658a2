package io.tally.rules.api;

import io.tally.testinfra.OpenApiContract;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** Every public route this service's controllers serve is an operation of docs/openapi.yaml. */
class PublicRoutesDocumentedTest {

    @Test
    void everyControllerRouteIsInTheOpenApiDocument() throws Exception {
        Set<String> routes = OpenApiContract.controllerRoutes(RulesController.class, DashboardsController.class, AdminController.class, UsageController.class);
        assertFalse(routes.isEmpty());
        Set<String> undocumented = new TreeSet<>(routes);
        undocumented.removeAll(OpenApiContract.documentedOperations());
        assertEquals(Set.of(), undocumented, "routes " + routes + " not all in docs/openapi.yaml");
    }
}
