package io.tally.rules.messaging;

import io.micronaut.configuration.kafka.annotation.ErrorStrategy;
import io.micronaut.configuration.kafka.annotation.ErrorStrategyValue;
import io.micronaut.configuration.kafka.annotation.KafkaListener;
import io.micronaut.configuration.kafka.annotation.OffsetReset;
import io.micronaut.configuration.kafka.annotation.OffsetStrategy;
import io.micronaut.configuration.kafka.annotation.Topic;
import io.micronaut.context.annotation.Property;
import io.tally.model.DeadLetter;
import io.tally.model.Topics;
import io.tally.rules.persistence.DeadLetterStore;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * Keeps each rule's dead-letter summary ({@code GET /api/v1/rules/{id}} → {@code deadLetters}) from
 * {@code tally.dead-letters}: one consumer group across the rules-service replicas, offsets committed only
 * after PostgreSQL holds the batch (a letter read twice is stored once). While PostgreSQL is away the batch fails,
 * and micronaut-kafka seeks back and reads it again every two seconds.
 */
@KafkaListener(groupId = "tally-rules-dead-letters", clientId = "rules-service-dead-letters", batch = true,
    offsetReset = OffsetReset.EARLIEST, offsetStrategy = OffsetStrategy.SYNC,
    errorStrategy = @ErrorStrategy(value = ErrorStrategyValue.RETRY_ON_ERROR, retryDelay = "2s", retryCount = Integer.MAX_VALUE),
    properties = @Property(name = ConsumerConfig.MAX_POLL_RECORDS_CONFIG, value = "1000"))
public class DeadLetterReader {

    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterReader.class);

    private final DeadLetterStore store;

    public DeadLetterReader(DeadLetterStore store) {
        this.store = store;
    }

    @Topic(Topics.DEAD_LETTERS)
    void receive(List<ConsumerRecord<String, byte[]>> records) {
        try {
            store.record(letters(records));
        } catch (RuntimeException e) {
            LOG.warn("could not record {} dead letter(s) ({}); reading them again in 2 s", records.size(), e.toString());
            throw e;
        }
    }

    /** The records that are a rule's dead letters (unreadable events belong to no rule and are skipped). */
    static List<DeadLetter> letters(Iterable<ConsumerRecord<String, byte[]>> records) {
        List<DeadLetter> letters = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            try {
                DeadLetter letter = DeadLetter.fromHeaders(name -> {
                    Header h = record.headers().lastHeader(name);
                    return h == null ? null : h.value();
                });
                if (letter.tenant() != null && letter.ruleId() != null) {
                    letters.add(letter);
                }
            } catch (IllegalArgumentException e) {
                LOG.debug("ignoring a record at {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), e.getMessage());
            }
        }
        return letters;
    }
}
