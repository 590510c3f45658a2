package io.tally.aggregation.messaging;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import io.tally.aggregation.config.AggregationConfig;
import io.tally.aggregation.persistence.FencedRedisWriter;
import io.tally.fold.ActiveRules;
import io.tally.fold.CompiledRule;
import io.tally.fold.Finality;
import io.tally.model.KafkaClients;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Moves every rule's finality mark ({@link Finality}) once per interval: reads each partition's watermark and
 * last-seen time per tenant (every partition of {@code tally.events}, its count read from Kafka), closes each
 * rule up to the latest window close at or before the tenant's finality watermark, and announces the windows
 * that became final, so subscribers get their final values. Idempotent (marks only rise), so every
 * aggregation instance runs it.
 */
@Singleton
public class Finalizer implements ApplicationEventListener<ServerStartupEvent>, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Finalizer.class);
    /** Windows announced per rule when its mark moves: what a snapshot shows. */
    private static final int ANNOUNCED = 10;

    private final String bootstrap;
    private final AggregationConfig config;
    private final ActiveRules rules;
    private final FencedRedisWriter writer;
    private final UpdatePublisher updates;
    private final Counter closings;
    private final TimeSource time;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("finalizer").daemon().factory());
    private KafkaConsumer<byte[], byte[]> metadata;
    private int partitions = Topics.EVENT_PARTITIONS;
    private long partitionsReadAt;
    private long lastFailureLog;

    public Finalizer(@Value("${kafka.bootstrap.servers}") String bootstrap, AggregationConfig config, RuleFeed feed,
                     FencedRedisWriter writer, UpdatePublisher updates, MeterRegistry meters, TimeSource time) {
        this.time = time;
        this.bootstrap = bootstrap;
        this.config = config;
        this.rules = feed.active();
        this.writer = writer;
        this.updates = updates;
        this.closings = meters.counter("tally.aggregation.windows.closed");
    }

    @Override
    public void onApplicationEvent(ServerStartupEvent event) {
        metadata = new KafkaConsumer<>(KafkaClients.with(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ConsumerConfig.CLIENT_ID_CONFIG, "aggregation-finalizer", ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000)),
            new ByteArrayDeserializer(), new ByteArrayDeserializer());
        long every = config.finalityInterval().toMillis();
        timer.scheduleWithFixedDelay(this::runQuietly, every, every, TimeUnit.MILLISECONDS);
    }

    private void runQuietly() {
        try {
            run(time.millis());
        } catch (RuntimeException e) {
            long now = time.millis();
            if (now - lastFailureLog > 30_000) {
                lastFailureLog = now;
                LOG.warn("moving the finality marks failed (tried again every {} ms): {}", config.finalityInterval().toMillis(), e.toString());
            }
        }
    }

    /** One round: close every rule as far as its tenant's clocks allow, announce what closed. */
    void run(long now) {
        Map<String, List<CompiledRule>> byTenant = rules.all();
        if (byTenant.isEmpty()) {
            return;
        }
        Map<String, List<Finality.PartitionClock>> clocks = writer.partitionClocks(partitionCount(now), byTenant.keySet());
        Map<CompiledRule, FencedRedisWriter.Mark> marks = new HashMap<>();
        byTenant.forEach((tenant, tenantRules) -> {
            OptionalLong watermark = Finality.watermark(clocks.getOrDefault(tenant, List.of()), now, config.idleTimeout().toMillis());
            if (watermark.isPresent()) {
                long w = watermark.getAsLong();
                // A version being backfilled is not closed until it serves: its backfill still writes its older windows.
                tenantRules.stream().filter(rule -> !rule.shadow()).flatMap(rule -> rule.allShards().stream())
                    .forEach(shard -> marks.put(shard, new FencedRedisWriter.Mark(Finality.closedUpTo(shard, w), w)));
            }
        });
        if (marks.isEmpty()) {
            return;
        }
        List<UpdatePublisher.Change> changes = new ArrayList<>();
        writer.close(marks).forEach((rule, closing) -> {
            if (closing.seq() > 0) {
                List<Long> closed = Finality.closedBetween(rule, closing.before(), marks.get(rule).closedUpTo(), ANNOUNCED);
                closings.increment(closed.size());
                changes.add(new UpdatePublisher.Change(rule, Set.copyOf(closed), closing.seq()));
            }
        });
        if (!changes.isEmpty()) {
            updates.publish(changes);
        }
    }

    /** The partition count of {@code tally.events}, read from Kafka once a minute. */
    private int partitionCount(long now) {
        if (now - partitionsReadAt > 60_000) {
            try {
                List<PartitionInfo> infos = metadata.partitionsFor(Topics.EVENTS);
                if (infos != null && !infos.isEmpty()) {
                    partitions = infos.size();
                }
                partitionsReadAt = now;
            } catch (RuntimeException e) {
                LOG.debug("could not read the partition count of {} (keeping {}): {}", Topics.EVENTS, partitions, e.toString());
            }
        }
        return partitions;
    }

    @PreDestroy
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (metadata != null) {
            metadata.close(Duration.ofSeconds(2));
        }
    }
}
