package io.tally.model;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Security and other client settings for every Kafka client of the fleet, from the environment: each variable
 * {@code TALLY_KAFKA_CLIENT_<NAME>} sets the client property {@code <name>} in lower case with dots for
 * underscores, e.g. {@code TALLY_KAFKA_CLIENT_SECURITY_PROTOCOL=SASL_SSL}, {@code TALLY_KAFKA_CLIENT_SASL_MECHANISM=SCRAM-SHA-512},
 * {@code TALLY_KAFKA_CLIENT_SASL_JAAS_CONFIG=...}, {@code TALLY_KAFKA_CLIENT_SSL_TRUSTSTORE_LOCATION=/etc/kafka/ca.p12}.
 * The code's own settings (serializers, group ids, acks) win over them.
 */
public final class KafkaClients {

    static final String PREFIX = "TALLY_KAFKA_CLIENT_";

    private KafkaClients() {
    }

    /** The settings the environment gives every client ({@code TALLY_KAFKA_CLIENT_*}), by client property name. */
    public static Map<String, Object> fromEnvironment() {
        return with(Map.of(), System.getenv());
    }

    /** The client's own settings plus those of the environment. */
    public static Map<String, Object> with(Map<String, ?> own) {
        return with(own, System.getenv());
    }

    /** As {@link #with(Map)}, for clients configured with {@link java.util.Properties}. */
    public static Properties with(Properties own) {
        Properties settings = new Properties();
        settings.putAll(with(Map.of(), System.getenv()));
        settings.putAll(own);
        return settings;
    }

    static Map<String, Object> with(Map<String, ?> own, Map<String, String> environment) {
        Map<String, Object> settings = new HashMap<>();
        environment.forEach((name, value) -> {
            if (name.startsWith(PREFIX) && name.length() > PREFIX.length() && value != null && !value.isEmpty()) {
                settings.put(name.substring(PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.'), value);
            }
        });
        settings.putAll(own);
        return settings;
    }
}
