package io.tally.subscription.messaging;

import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Value;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import io.tally.telemetry.KafkaTraces;
import io.tally.telemetry.Observed;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.tally.model.RuleChange;
import io.tally.subscription.config.SubscriptionConfig;
import io.tally.subscription.domain.Fanout;
import jakarta.annotation.PreDestroy;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

/**
 * Every instance reads all of {@code tally.updates} (partitions assigned to itself, no shared group),
 * starting the history interval back so resumes work right after a start, and hands each change
 * announcement to the {@link Fanout}. Waits for the topic while Kafka is away; stops on shutdown.
 */
@Context
public class UpdateFeed implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(UpdateFeed.class);

    private final KafkaConsumer<String, byte[]> consumer;
    private final Fanout fanout;
    private final ObjectMapper json;
    private final long historyMillis;
    private final TimeSource time;
    private final Thread thread;
    private final AutoCloseable metrics;
    private volatile boolean running = true;
    private volatile boolean assigned;

    public UpdateFeed(@Value("${kafka.bootstrap.servers}") String bootstrap, Fanout fanout, ObjectMapper json, SubscriptionConfig config,
                      MeterRegistry meters, TimeSource time) {
        this.time = time;
        this.fanout = fanout;
        this.json = json;
        this.historyMillis = config.history().toMillis();
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "subscriptions-" + UUID.randomUUID());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
        props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 20);
        this.consumer = new KafkaConsumer<>(io.tally.model.KafkaClients.with(props), new StringDeserializer(), new ByteArrayDeserializer());
        this.metrics = Observed.kafka(meters, consumer);
        this.thread = Thread.ofPlatform().name("update-feed").daemon().start(this::run);
    }

    /** True once the topic's partitions are assigned (readiness). */
    public boolean isReading() {
        return assigned;
    }

    private void run() {
        while (running) {
            try {
                if (!assigned) {
                    assign();
                    continue;
                }
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    RuleChange change;
                    try {
                        change = json.readValue(record.value(), RuleChange.class);
                    } catch (Exception e) {
                        LOG.warn("Skipping an unreadable record at {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), e.getMessage());
                        continue;
                    }
                    // The announcement continues the trace of an event it covers, when that one was sampled.
                    SpanContext trace = KafkaTraces.sampledParent(record.headers());
                    fanout.offer(change, record.timestamp(), trace == null ? null : io.opentelemetry.context.Context.root().with(Span.wrap(trace)));
                }
            } catch (WakeupException e) {
                // closing
            } catch (RuntimeException e) {
                if (running) {
                    LOG.warn("Reading {} failed ({}); retrying in 1 s", Topics.UPDATES, e.toString());
                    sleep(1000);
                }
            }
        }
    }

    private void assign() {
        var infos = consumer.partitionsFor(Topics.UPDATES, Duration.ofSeconds(5));
        if (infos == null || infos.isEmpty()) {
            LOG.info("Waiting for topic {} (is Kafka up?)", Topics.UPDATES);
            sleep(1000);
            return;
        }
        List<TopicPartition> partitions = infos.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        consumer.assign(partitions);
        Map<TopicPartition, Long> at = new HashMap<>();
        partitions.forEach(p -> at.put(p, time.millis() - historyMillis));
        Map<TopicPartition, OffsetAndTimestamp> offsets = consumer.offsetsForTimes(at, Duration.ofSeconds(10));
        for (TopicPartition p : partitions) {
            OffsetAndTimestamp o = offsets.get(p);
            if (o != null) {
                consumer.seek(p, o.offset());
            } else {
                consumer.seekToEnd(List.of(p));
            }
        }
        assigned = true;
        LOG.info("Reading {} ({} partitions) from {} s back", Topics.UPDATES, partitions.size(), historyMillis / 1000);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
        try {
            metrics.close();
        } catch (Exception e) {
            LOG.debug("unbinding Kafka client metrics: {}", e.toString());
        }
        consumer.close(Duration.ofSeconds(2));
    }
}
