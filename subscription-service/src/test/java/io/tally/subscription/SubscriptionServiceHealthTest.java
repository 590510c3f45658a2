package io.tally.subscription;

import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.tally.testinfra.ServiceHealthContract;
import jakarta.inject.Inject;
import org.junit.jupiter.api.TestInstance;

import java.util.List;

/** The subscription-service boots against the real infrastructure it uses and reports it in readiness. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SubscriptionServiceHealthTest extends ServiceHealthContract {

    @Inject
    EmbeddedServer server;

    @Override
    protected List<String> dependencies() {
        return List.of("kafka", "redis");
    }

    @Override
    protected EmbeddedServer server() {
        return server;
    }
}
