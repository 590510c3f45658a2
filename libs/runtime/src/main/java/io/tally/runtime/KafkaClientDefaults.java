package io.tally.runtime;

import io.micronaut.context.ApplicationContextBuilder;
import io.micronaut.context.ApplicationContextConfigurer;
import io.micronaut.context.annotation.ContextConfigurer;
import io.micronaut.context.env.PropertySource;
import io.tally.model.KafkaClients;

import java.util.HashMap;
import java.util.Map;

/**
 * Gives micronaut-kafka's clients ({@code @KafkaListener}, {@code @KafkaClient}) the same environment settings as the
 * fleet's hand-built ones ({@link KafkaClients}): each {@code TALLY_KAFKA_CLIENT_<NAME>} becomes {@code kafka.<name>},
 * which micronaut-kafka passes to every consumer and producer. Below application.yml.
 */
@ContextConfigurer
public final class KafkaClientDefaults implements ApplicationContextConfigurer {

    /** Below application.yml, environment variables and system properties. */
    static final int ORDER = -1000;

    @Override
    public void configure(ApplicationContextBuilder builder) {
        builder.propertySources(PropertySource.of("tally-kafka-clients", settings(KafkaClients.fromEnvironment()), ORDER));
    }

    static Map<String, Object> settings(Map<String, Object> clientSettings) {
        Map<String, Object> settings = new HashMap<>();
        clientSettings.forEach((name, value) -> settings.put("kafka." + name, value));
        return settings;
    }
}
