package io.tally.rules.messaging;

import io.micronaut.configuration.kafka.annotation.KafkaClient;
import io.micronaut.configuration.kafka.annotation.KafkaKey;
import io.micronaut.configuration.kafka.annotation.Topic;
import io.micronaut.context.annotation.Property;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.messaging.annotation.MessageBody;
import io.tally.model.Topics;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Headers;

import java.util.concurrent.CompletableFuture;

/**
 * {@link Topics#RULES} as the outbox relay writes it (micronaut-kafka): idempotent, {@code acks=all}, one request in
 * flight so one rule's versions arrive in the order they were sent; bounded waits (metadata 5 s, a request 5 s,
 * delivery 10 s) so a round fails and is retried instead of hanging while Kafka is away.
 */
@KafkaClient(id = "rules-outbox-relay", acks = KafkaClient.Acknowledge.ALL, maxBlock = "5s", properties = {
    @Property(name = ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, value = "true"),
    @Property(name = ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, value = "1"),
    @Property(name = ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, value = "5000"),
    @Property(name = ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, value = "10000")})
public interface RulesTopic {

    /** A rule version (JSON) under {@code tenant:id}, or its tombstone ({@code null}); completes with its offset. */
    @Topic(Topics.RULES)
    CompletableFuture<RecordMetadata> publish(@KafkaKey String key, @MessageBody @Nullable String rule, Headers headers);
}
