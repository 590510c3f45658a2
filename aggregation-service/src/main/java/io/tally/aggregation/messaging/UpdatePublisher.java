package io.tally.aggregation.messaging;

import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Value;
import io.micronaut.serde.ObjectMapper;
import io.opentelemetry.context.Context;
import io.tally.fold.CompiledRule;
import io.tally.model.KafkaClients;
import io.tally.model.RuleChange;
import io.tally.model.RuleRecord;
import io.tally.model.Topics;
import io.tally.telemetry.KafkaTraces;
import io.tally.telemetry.Observed;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Announces on {@code tally.updates} which windows each flush changed: one {@link RuleChange} per
 * rule, naming windows, not values, so publishing costs the same however many groups a window has.
 * Sent before the offsets are committed, so a crash announces again (at least once) and never loses
 * a change.
 */
@Singleton
public class UpdatePublisher implements AutoCloseable {

    /** One rule shard's change from one partition's batch: the windows it touched and the shard's sequence after it. */
    public record Change(CompiledRule rule, Set<Long> windows, long seq) {
    }

    private final KafkaProducer<String, byte[]> producer;
    private final ObjectMapper json;
    private final AutoCloseable metrics;
    /** The highest sequence announced per rule ({@code tenant:ruleId}): announcements of a rule never go back. */
    private final Map<String, Long> announced = new HashMap<>();

    public UpdatePublisher(@Value("${kafka.bootstrap.servers}") String bootstrap, ObjectMapper json, MeterRegistry meters) {
        this.json = json;
        this.producer = new KafkaProducer<>(KafkaClients.with(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ProducerConfig.CLIENT_ID_CONFIG, "aggregation-updates", ProducerConfig.LINGER_MS_CONFIG, 2,
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.ACKS_CONFIG, "all")),
            new StringSerializer(), new ByteArraySerializer());
        this.metrics = Observed.kafka(meters, producer);
    }

    /**
     * Announces the changes. Flushes and the finalizer announce from two threads: a change whose sequence is below
     * one already announced for the rule goes out with that higher sequence (a read at it holds the change too).
     */
    public synchronized void publish(List<Change> changes) {
        publish(changes, Map.of());
    }

    /**
     * As {@link #publish(List)}; the announcements of a tenant in {@code traces} carry that trace context
     * ({@code traceparent}), so the subscribers' push joins the trace of an event it delivers.
     */
    public synchronized void publish(List<Change> changes, Map<String, Context> traces) {
        // One flush's changes of a rule from several partitions and shards become one record.
        Map<String, CompiledRule> rules = new LinkedHashMap<>();
        Map<String, TreeSet<Long>> windows = new HashMap<>();
        Map<String, Long> seqs = new HashMap<>();
        for (Change change : changes) {
            if (change.rule().shadow()) {
                continue; // a version being backfilled serves nobody yet: its subscribers get a snapshot when it switches over
            }
            // Keyed by where the version's state lives: a backfilled version has an update sequence of its own.
            String key = RuleRecord.key(change.rule().tenant(), change.rule().stateId());
            rules.putIfAbsent(key, change.rule());
            windows.computeIfAbsent(key, r -> new TreeSet<>()).addAll(change.windows());
            seqs.merge(key, change.seq(), Math::max);
        }
        List<Future<?>> sends = new ArrayList<>(windows.size());
        rules.forEach((key, rule) -> {
            TreeSet<Long> starts = windows.get(key);
            long seq = announced.merge(key, seqs.get(key), Math::max);
            RuleChange record = new RuleChange(rule.tenant(), rule.id(), rule.version(), seq, List.copyOf(starts));
            try {
                ProducerRecord<String, byte[]> announcement = new ProducerRecord<>(Topics.UPDATES, rule.tenant() + ":" + rule.id(),
                    json.writeValueAsBytes(record));
                Context trace = traces.get(rule.tenant());
                if (trace != null) {
                    KafkaTraces.inject(trace, announcement.headers());
                }
                sends.add(producer.send(announcement));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        for (Future<?> send : sends) {
            try {
                send.get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("changes could not be announced: " + e.getMessage(), e);
            }
        }
    }

    @PreDestroy
    @Override
    public void close() {
        try {
            metrics.close();
        } catch (Exception e) {
            // unbinding meters cannot fail in a way that matters at shutdown
        }
        producer.close(Duration.ofSeconds(2));
    }
}
