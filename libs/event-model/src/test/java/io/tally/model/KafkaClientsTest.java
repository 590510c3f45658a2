package io.tally.model;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KafkaClientsTest {

    @Test
    void theEnvironmentAddsClientSettingsAndTheCodesOwnWin() {
        Map<String, Object> settings = KafkaClients.with(Map.of("bootstrap.servers", "b:9092", "acks", "all"), Map.of(
            "TALLY_KAFKA_CLIENT_SECURITY_PROTOCOL", "SASL_SSL",
            "TALLY_KAFKA_CLIENT_SASL_MECHANISM", "SCRAM-SHA-512",
            "TALLY_KAFKA_CLIENT_ACKS", "0",
            "TALLY_KAFKA_CLIENT_", "ignored",
            "TALLY_KAFKA_BOOTSTRAP", "not a client setting",
            "PATH", "/bin"));
        assertEquals(Map.of("bootstrap.servers", "b:9092", "acks", "all", "security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512"),
            settings);
    }
}
