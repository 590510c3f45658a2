package io.tally.ingestion.messaging;

import io.micronaut.configuration.kafka.annotation.KafkaClient;
import io.micronaut.configuration.kafka.annotation.KafkaKey;
import io.micronaut.configuration.kafka.annotation.Topic;
import io.micronaut.context.annotation.Property;
import io.tally.model.Topics;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Headers;

import java.util.concurrent.CompletableFuture;

/**
 * {@link Topics#EVENTS} as the ingestion writes it (micronaut-kafka): an idempotent producer with {@code acks=all},
 * batching briefly and compressing; bounded waits (metadata 3 s while the broker is down, each request 4 s, delivery
 * {@code kafka.producers.ingestion-events.delivery.timeout.ms}, 6 s) so a request gives up before its ack timeout.
 */
@KafkaClient(id = "ingestion-events", acks = KafkaClient.Acknowledge.ALL, maxBlock = "3s", properties = {
    @Property(name = ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, value = "true"),
    @Property(name = ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, value = "5"),
    @Property(name = ProducerConfig.LINGER_MS_CONFIG, value = "2"),
    @Property(name = ProducerConfig.BATCH_SIZE_CONFIG, value = "131072"),
    @Property(name = ProducerConfig.COMPRESSION_TYPE_CONFIG, value = "lz4"),
    @Property(name = ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, value = "4000"),
    @Property(name = ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, value = "1000")})
public interface EventTopic {

    /** One encoded event under its partition key; completes when the broker acknowledged it. */
    @Topic(Topics.EVENTS)
    CompletableFuture<RecordMetadata> append(@KafkaKey String partitionKey, byte[] event, Headers headers);
}
