package io.tally.devstack;

import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.UUID;

/** Kafka's cluster id format: a UUID as 22 characters of URL-safe base64 without padding. */
final class Uuids {

    private Uuids() {
    }

    /** A random cluster id that does not start with '-' (command-line parsers would take it for an option). */
    static String newKafkaClusterId() {
        while (true) {
            String id = kafkaClusterId(UUID.randomUUID());
            if (id.charAt(0) != '-') {
                return id;
            }
        }
    }

    static String kafkaClusterId(UUID uuid) {
        ByteBuffer buffer = ByteBuffer.allocate(16);
        buffer.putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits());
        return Base64.getUrlEncoder().withoutPadding().encodeToString(buffer.array());
    }
}
