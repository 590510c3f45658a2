package io.tally.rules.catalog;

import io.github.resilience4j.core.IntervalFunction;
import io.tally.model.KafkaClients;
import io.tally.model.RuleRecord;
import io.tally.model.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The current version of every rule, kept by reading all of the compacted {@link Topics#RULES} topic
 * from the beginning (no consumer group: every instance sees every rule). A version not newer than
 * the one held is ignored (the outbox relay may send a row twice); a tombstone deletes.
 */
public final class RuleCatalog implements AutoCloseable {

    /** Reads one record's value (a rule version as JSON); a record it cannot read is skipped with a warning. */
    @FunctionalInterface
    public interface Decoder {
        RuleRecord decode(byte[] value) throws IOException;
    }

    /** Between failed reads: 250 ms doubling to 5 s, each ±50 %, from resilience4j. */
    private static final IntervalFunction BACKOFF = IntervalFunction.ofExponentialRandomBackoff(Duration.ofMillis(250), 2.0, 0.5, Duration.ofSeconds(5));

    private static final Logger LOG = LoggerFactory.getLogger(RuleCatalog.class);

    /** A rule appeared, changed ({@code rule} set) or was deleted ({@code rule} null). */
    public record Change(String tenant, String id, RuleRecord rule) {
    }

    private final RuleVersions rules = new RuleVersions();
    private volatile Map<Integer, Long> positions = Map.of();
    private final List<Consumer<Change>> listeners = new CopyOnWriteArrayList<>();
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private final KafkaConsumer<String, byte[]> consumer;
    private final Decoder decoder;
    private final Thread thread;
    private volatile boolean running = true;

    public RuleCatalog(String bootstrapServers, String clientId, Decoder decoder) {
        this.decoder = decoder;
        this.consumer = new KafkaConsumer<>(KafkaClients.with(Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
            ConsumerConfig.CLIENT_ID_CONFIG, clientId + "-rules",
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")), new StringDeserializer(), new ByteArrayDeserializer());
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
        return Optional.ofNullable(rules.get(tenant, id));
    }

    /**
     * The version of a rule readers are served ({@link RuleRecord#serving()}): while a new version is backfilled, the one it
     * replaces; the new one from the record that ends its backfill on.
     */
    public Optional<RuleRecord> serving(String tenant, String id) {
        return get(tenant, id).map(RuleRecord::serving);
    }

    public Collection<RuleRecord> all() {
        return rules.all();
    }

    /**
     * How far this catalog has applied {@link Topics#RULES}: partition → next offset to read. Every record
     * below it has been applied and its listeners have run (an aggregation instance acknowledges with it).
     */
    public Map<Integer, Long> positions() {
        return positions;
    }

    private void run() {
        try {
            List<TopicPartition> partitions = assignFromBeginning();
            Map<TopicPartition, Long> end = endOffsets(partitions);
            int failures = 0;
            while (running) {
                try {
                    for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                        apply(record);
                    }
                    Map<Integer, Long> now = new TreeMap<>();
                    for (TopicPartition p : partitions) {
                        now.put(p.partition(), consumer.position(p, Duration.ofSeconds(5)));
                    }
                    positions = Map.copyOf(now);
                    if (caughtUp.getCount() > 0 && partitions.stream().allMatch(p -> now.get(p.partition()) >= end.get(p))) {
                        LOG.info("rule catalog caught up: {} rules", rules.size());
                        caughtUp.countDown();
                    }
                    failures = 0;
                } catch (TimeoutException e) {
                    LOG.warn("rule catalog: {} is not answering ({}); still trying", Topics.RULES, e.getMessage());
                } catch (WakeupException e) {
                    throw e;
                } catch (RuntimeException e) {
                    // Never stop reading: a catalog that stopped would keep every instance on old rule versions.
                    long backoff = BACKOFF.apply(++failures);
                    LOG.warn("rule catalog: reading {} failed ({}); trying again in {} ms", Topics.RULES, e.toString(), backoff);
                    pause(backoff);
                }
            }
        } catch (WakeupException e) {
            // closing
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    /** The end offsets the catalog must reach to be caught up, waiting while Kafka is away. */
    private Map<TopicPartition, Long> endOffsets(List<TopicPartition> partitions) {
        while (true) {
            try {
                return consumer.endOffsets(partitions, Duration.ofSeconds(10));
            } catch (WakeupException e) {
                throw e;
            } catch (RuntimeException e) {
                LOG.warn("rule catalog: cannot read the end of {} ({}); retrying", Topics.RULES, e.toString());
                pause(1_000);
            }
            if (!running) {
                throw new WakeupException();
            }
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WakeupException();
        }
    }

    /** Assigns every partition of the rules topic from its beginning, waiting (with a log line) while Kafka is away. */
    private List<TopicPartition> assignFromBeginning() {
        while (true) {
            try {
                List<TopicPartition> partitions = consumer.partitionsFor(Topics.RULES, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                if (!partitions.isEmpty()) {
                    consumer.assign(partitions);
                    consumer.seekToBeginning(partitions);
                    return partitions;
                }
            } catch (TimeoutException e) {
                LOG.warn("rule catalog: cannot reach Kafka to read {} ({}); retrying", Topics.RULES, e.getMessage());
            }
            if (!running) {
                throw new WakeupException();
            }
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
            notify(rules.delete(tenant, id, deletedVersion(record)));
            return;
        }
        RuleRecord rule;
        try {
            rule = decoder.decode(record.value());
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring an unreadable rule record {} at offset {}: {}", key, record.offset(), e.getMessage());
            return;
        }
        notify(rules.put(tenant, id, rule));
    }

    /** The version a tombstone deleted (header {@link RuleRecord#DELETED_VERSION_HEADER}); unknown = every version. */
    private static int deletedVersion(ConsumerRecord<String, byte[]> record) {
        Header header = record.headers().lastHeader(RuleRecord.DELETED_VERSION_HEADER);
        if (header == null) {
            return Integer.MAX_VALUE;
        }
        try {
            return Integer.parseInt(new String(header.value(), StandardCharsets.UTF_8));
        } catch (NumberFormatException e) {
            return Integer.MAX_VALUE;
        }
    }

    private void notify(Change change) {
        if (change == null) {
            return;
        }
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
