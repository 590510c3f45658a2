package io.tally.query.messaging;

import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleRecord;
import io.tally.rules.catalog.RuleCatalog;


/** The query service's view of every rule, from {@code tally.rules}. */
@Factory
public class RuleCatalogFactory {

    /** Eager: reading every rule starts with the service, not with the first query. */
    @Context
    @Bean(preDestroy = "close")
    RuleCatalog ruleCatalog(@Value("${kafka.bootstrap.servers}") String bootstrap, ObjectMapper json) {
        return new RuleCatalog(bootstrap, "query-service", bytes -> json.readValue(bytes, RuleRecord.class)).start();
    }
}
