package io.tally.aggregation.messaging;

import io.micronaut.configuration.kafka.annotation.KafkaClient;
import io.micronaut.configuration.kafka.annotation.KafkaKey;
import io.micronaut.configuration.kafka.annotation.Topic;
import io.micronaut.context.annotation.Property;
import io.tally.model.RuleAck;
import io.tally.model.Topics;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.concurrent.CompletableFuture;

/** This instance's acknowledgements on {@code tally.rule-acks} (JSON, keyed by instance), sent by micronaut-kafka. */
@KafkaClient(id = "aggregation-rule-acks", maxBlock = "5s", properties = @Property(name = ProducerConfig.LINGER_MS_CONFIG, value = "5"))
public interface RuleAcks {

    @Topic(Topics.RULE_ACKS)
    CompletableFuture<RecordMetadata> send(@KafkaKey String instance, RuleAck ack);
}
