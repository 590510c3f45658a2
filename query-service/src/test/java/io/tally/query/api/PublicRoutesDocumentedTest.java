package io.tally.query.api;

import io.tally.testinfra.OpenApiContract;
import org.junit.jupiter.api.Test;

/** Every public route this service's controllers serve is an operation of docs/openapi.yaml. */
class PublicRoutesDocumentedTest {

    @Test
    void everyControllerRouteIsInTheOpenApiDocument() throws Exception {
        OpenApiContract.assertDocumented(ResultsController.class);
    }
}
