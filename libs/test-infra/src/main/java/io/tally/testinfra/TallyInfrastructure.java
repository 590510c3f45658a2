package io.tally.testinfra;

import io.micronaut.test.support.TestPropertyProvider;
import io.tally.devstack.StackConfig;

import java.util.HashMap;
import java.util.Map;

/**
 * Implement on a {@code @MicronautTest} class (with {@code @TestInstance(PER_CLASS)}) to run the
 * application under test against the real infrastructure of {@link TestStack}.
 */
public interface TallyInfrastructure extends TestPropertyProvider {

    @Override
    default Map<String, String> getProperties() {
        StackConfig stack = TestStack.infrastructure();
        Map<String, String> properties = new HashMap<>();
        // A random port: the service's configured one may be taken by a running local stack or another test.
        properties.put("micronaut.server.port", "-1");
        properties.put("kafka.bootstrap.servers", stack.kafkaBootstrap());
        properties.put("redis.uris", stack.redisUris());
        properties.put("datasources.default.url", stack.jdbcUrl());
        properties.put("datasources.default.username", StackConfig.DB_USER);
        properties.put("datasources.default.password", StackConfig.DB_PASSWORD);
        properties.putAll(extraProperties());
        return properties;
    }

    /** Test-specific properties on top of the infrastructure addresses. */
    default Map<String, String> extraProperties() {
        return Map.of();
    }
}
