package io.tally.rules.messaging;

import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Value;
import io.tally.model.DeadLetter;
import io.tally.model.Topics;
import io.tally.rules.persistence.DeadLetterStore;
import jakarta.annotation.PreDestroy;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Keeps each rule's dead-letter summary ({@code GET /api/v1/rules/{id}} → {@code deadLetters}) from
 * {@code tally.dead-letters}: one consumer group across the rules-service replicas, offsets committed only
 * after PostgreSQL holds the batch (a letter read twice is stored once). While PostgreSQL is away the reader
 * waits and reads the same records again.
 */
@Context
public class DeadLetterReader implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterReader.class);

    private final KafkaConsumer<String, byte[]> consumer;
    private final DeadLetterStore store;
    private final Thread thread;
    private volatile boolean running = true;

    public DeadLetterReader(@Value("${kafka.bootstrap.servers}") String bootstrap, DeadLetterStore store) {
        this.store = store;
        this.consumer = new KafkaConsumer<>(io.tally.model.KafkaClients.with(Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ConsumerConfig.GROUP_ID_CONFIG, "tally-rules-dead-letters",
            ConsumerConfig.CLIENT_ID_CONFIG, "rules-service-dead-letters",
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1000)), new StringDeserializer(), new ByteArrayDeserializer());
        this.thread = Thread.ofPlatform().name("dead-letters").daemon().start(this::run);
    }

    private void run() {
        try {
            consumer.subscribe(List.of(Topics.DEAD_LETTERS));
            long backoff = 0;
            while (running) {
                ConsumerRecords<String, byte[]> records = ConsumerRecords.empty();
                try {
                    records = consumer.poll(Duration.ofMillis(500));
                    if (records.isEmpty()) {
                        continue;
                    }
                    store.record(letters(records));
                    consumer.commitSync();
                    backoff = 0;
                } catch (WakeupException e) {
                    throw e;
                } catch (RuntimeException e) {
                    backoff = Math.min(5_000, backoff == 0 ? 500 : backoff * 2);
                    LOG.warn("could not record {} dead letter(s) ({}); reading them again in {} ms", records.count(), e.toString(), backoff);
                    Thread.sleep(backoff);
                    rewind(records);
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            consumer.close(Duration.ofSeconds(1));
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

    private void rewind(ConsumerRecords<String, byte[]> records) {
        try {
            for (var partition : records.partitions()) {
                consumer.seek(partition, records.records(partition).getFirst().offset());
            }
        } catch (IllegalStateException e) {
            LOG.debug("a partition went to another replica meanwhile: {}", e.getMessage()); // it reads from the committed offset
        }
    }

    @PreDestroy
    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
