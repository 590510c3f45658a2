package io.tally.query.messaging;

import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleRecord;
import io.tally.rules.catalog.RuleCatalog;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.io.UncheckedIOException;

/** The query service's view of every rule, from {@code tally.rules}. */
@Factory
public class RuleCatalogFactory {

    @Singleton
    @Bean(preDestroy = "close")
    RuleCatalog ruleCatalog(@Value("${kafka.bootstrap.servers}") String bootstrap, ObjectMapper json) {
        return new RuleCatalog(bootstrap, "query-service", bytes -> {
            try {
                return json.readValue(bytes, RuleRecord.class);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).start();
    }
}
