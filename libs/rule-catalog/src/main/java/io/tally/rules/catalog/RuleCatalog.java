package io.tally.rules.catalog;

import io.tally.model.RuleRecord;
import io.tally.model.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The current version of every rule, kept by reading all of the compacted {@link Topics#RULES} topic
 * from the beginning (no consumer group: every instance sees every rule). A version not newer than
 * the one held is ignored (the outbox relay may send a row twice); a tombstone deletes.
 */
public final class RuleCatalog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RuleCatalog.class);

    /** A rule appeared, changed ({@code rule} set) or was deleted ({@code rule} null). */
    public record Change(String tenant, String id, RuleRecord rule) {
    }

    private final Map<String, RuleRecord> rules = new ConcurrentHashMap<>();
    private final List<Consumer<Change>> listeners = new CopyOnWriteArrayList<>();
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private final KafkaConsumer<String, byte[]> consumer;
    private final Function<byte[], RuleRecord> decoder;
    private final Thread thread;
    private volatile boolean running = true;

    public RuleCatalog(String bootstrapServers, String clientId, Function<byte[], RuleRecord> decoder) {
        this.decoder = decoder;
        this.consumer = new KafkaConsumer<>(Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
            ConsumerConfig.CLIENT_ID_CONFIG, clientId + "-rules",
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), new StringDeserializer(), new ByteArrayDeserializer());
        this.thread = Thread.ofPlatform().name("rule-catalog").daemon().unstarted(this::run);
    }

    public RuleCatalog start() {
        thread.start();
        return this;
    }

    /** Waits until everything on the topic at start-up has been read. */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public boolean isCaughtUp() {
        return caughtUp.getCount() == 0;
    }

    public void addListener(Consumer<Change> listener) {
        listeners.add(listener);
    }

    public Optional<RuleRecord> get(String tenant, String id) {
        return Optional.ofNullable(rules.get(RuleRecord.key(tenant, id)));
    }

    public Collection<RuleRecord> all() {
        return rules.values();
    }

    private void run() {
        try {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.RULES, Duration.ofSeconds(30)).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (running) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    apply(record);
                }
                if (caughtUp.getCount() > 0 && partitions.stream().allMatch(p -> consumer.position(p) >= end.get(p))) {
                    LOG.info("rule catalog caught up: {} rules", rules.size());
                    caughtUp.countDown();
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.error("the rule catalog stopped reading {}: {}", Topics.RULES, e.toString());
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void apply(ConsumerRecord<String, byte[]> record) {
        String key = record.key();
        if (key == null || key.indexOf(':') < 0) {
            LOG.warn("ignoring a rule record without a tenant:id key at {}-{}@{}", record.topic(), record.partition(), record.offset());
            return;
        }
        String tenant = key.substring(0, key.indexOf(':'));
        String id = key.substring(key.indexOf(':') + 1);
        if (record.value() == null) {
            if (rules.remove(key) != null) {
                notify(new Change(tenant, id, null));
            }
            return;
        }
        RuleRecord rule;
        try {
            rule = decoder.apply(record.value());
        } catch (RuntimeException e) {
            LOG.warn("ignoring an unreadable rule record {} at offset {}: {}", key, record.offset(), e.getMessage());
            return;
        }
        RuleRecord held = rules.get(key);
        if (held != null && held.version() >= rule.version()) {
            return;
        }
        rules.put(key, rule);
        notify(new Change(tenant, id, rule));
    }

    private void notify(Change change) {
        for (Consumer<Change> listener : listeners) {
            try {
                listener.accept(change);
            } catch (RuntimeException e) {
                LOG.warn("a rule listener failed on {}:{}: {}", change.tenant(), change.id(), e.toString());
            }
        }
    }

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
