package io.tally.aggregation.messaging;

import io.micronaut.context.annotation.Value;
import io.micronaut.core.type.Argument;
import io.micronaut.serde.ObjectMapper;
import io.tally.aggregation.domain.CompiledRule;
import io.tally.aggregation.persistence.FencedRedisWriter;
import io.tally.model.Topics;
import io.tally.model.WindowUpdate;
import io.tally.results.RawWindow;
import io.tally.results.ResultAssembler;
import io.tally.results.RuleState;
import io.tally.results.RuleView;
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
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Publishes the windows each flush changed to {@code tally.updates}: every group of each changed
 * window with its full current values, read back after the change was applied in one atomic read
 * that reserves the rule's next update sequence ({@link WindowUpdate}). Sent before the offsets are
 * committed, so a crash republishes (at least once) and never loses an update; consumers drop
 * sequences they already have.
 */
@Singleton
public class UpdatePublisher implements AutoCloseable {

    /** One rule's applied change from one partition's batch: the changed groups per window. */
    public record Change(CompiledRule rule, Map<Long, Set<String>> groupsByWindow) {
    }

    private final KafkaProducer<String, byte[]> producer;
    private final FencedRedisWriter writer;
    private final ObjectMapper json;
    private final ResultAssembler assembler;

    public UpdatePublisher(@Value("${kafka.bootstrap.servers}") String bootstrap, FencedRedisWriter writer, ObjectMapper json) {
        this.writer = writer;
        this.json = json;
        this.assembler = new ResultAssembler(text -> read(text, Argument.listOf(Object.class)), text -> read(text, Argument.OBJECT_ARGUMENT));
        this.producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ProducerConfig.CLIENT_ID_CONFIG, "aggregation-updates", ProducerConfig.LINGER_MS_CONFIG, 5,
            ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.ACKS_CONFIG, "all"),
            new StringSerializer(), new ByteArraySerializer());
    }

    private <T> T read(String text, Argument<T> type) {
        try {
            return json.readValue(text, type);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void publish(List<Change> changes) {
        // One flush's changes of a rule from several partitions become one read and one record per window.
        Map<CompiledRule, Set<Long>> merged = new java.util.IdentityHashMap<>();
        for (Change change : changes) {
            merged.computeIfAbsent(change.rule(), r -> new java.util.TreeSet<>()).addAll(change.groupsByWindow().keySet());
        }
        if (merged.isEmpty()) {
            return;
        }
        Map<CompiledRule, List<Long>> starts = new java.util.IdentityHashMap<>();
        merged.forEach((rule, windows) -> starts.put(rule, List.copyOf(windows)));
        Map<CompiledRule, RuleState> read = writer.readForUpdate(starts);
        List<Future<?>> sends = new ArrayList<>();
        for (Map.Entry<CompiledRule, RuleState> entry : read.entrySet()) {
            CompiledRule rule = entry.getKey();
            RuleView view = RuleView.of(rule.record());
            RuleState state = entry.getValue();
            List<RawWindow> windows = state.windows().stream().sorted(Comparator.comparingLong(RawWindow::start)).toList();
            for (RawWindow window : windows) {
                List<WindowUpdate.Group> groups = assembler.groups(view, window, Map.of()).stream()
                    .map(g -> new WindowUpdate.Group(g.group(), g.values())).toList();
                WindowUpdate update = new WindowUpdate(rule.tenant(), rule.id(), rule.version(), state.seq(), windows.size(),
                    window.start(), window.start() + view.sizeMillis(), groups);
                try {
                    sends.add(producer.send(new ProducerRecord<>(Topics.UPDATES, rule.tenant() + ":" + rule.id(), json.writeValueAsBytes(update))));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        for (Future<?> send : sends) {
            try {
                send.get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("updates could not be published: " + e.getMessage(), e);
            }
        }
    }

    @PreDestroy
    @Override
    public void close() {
        producer.close(Duration.ofSeconds(2));
    }
}
