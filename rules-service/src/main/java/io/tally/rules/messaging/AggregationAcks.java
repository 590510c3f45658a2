package io.tally.rules.messaging;

import io.tally.model.KafkaClients;
import io.tally.model.TimeSource;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Value;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleAck;
import io.tally.model.Topics;
import io.tally.rules.config.RulesConfig;
import jakarta.annotation.PreDestroy;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What every aggregation instance has applied, from their acknowledgements on {@code tally.rule-acks}
 * (read by every rules-service replica, no consumer group, starting a little before now). A rule version
 * published at a position on {@code tally.rules} is active once every live instance has read past it.
 */
@Context
public class AggregationAcks implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AggregationAcks.class);

    /** The latest acknowledgement of one instance and when it was sent (ms). */
    private record Latest(RuleAck ack, long sentAt) {
    }

    private final Map<String, Latest> instances = new ConcurrentHashMap<>();
    private final KafkaConsumer<String, String> consumer;
    private final ObjectMapper json;
    private final RulesConfig config;
    private final TimeSource time;
    private final Thread thread;
    private volatile boolean running = true;

    public AggregationAcks(@Value("${kafka.bootstrap.servers}") String bootstrap, ObjectMapper json, RulesConfig config, TimeSource time) {
        this.json = json;
        this.config = config;
        this.time = time;
        this.consumer = new KafkaConsumer<>(KafkaClients.with(Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ConsumerConfig.CLIENT_ID_CONFIG, "rules-service-acks",
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false)), new StringDeserializer(), new StringDeserializer());
        this.thread = Thread.ofPlatform().name("aggregation-acks").daemon().start(this::run);
    }

    /** True when at least one aggregation instance is live and every live one has applied the record at partition/offset. */
    public boolean appliedEverywhere(int partition, long offset) {
        List<RuleAck> live = live();
        return !live.isEmpty() && live.stream().allMatch(a -> a.hasApplied(partition, offset));
    }

    /** Why a live aggregation instance cannot run this rule version, if one says so. */
    public java.util.Optional<String> failure(String tenant, String ruleId, int version) {
        return live().stream().filter(a -> a.failed() != null).flatMap(a -> a.failed().stream())
            .filter(f -> f.tenant().equals(tenant) && f.ruleId().equals(ruleId) && f.version() == version)
            .map(io.tally.model.RuleFailure::reason).findFirst();
    }

    /** The aggregation instances heard from within the liveness interval that have not said goodbye. */
    public List<RuleAck> live() {
        long now = time.millis();
        return instances.values().stream()
            .filter(l -> !l.ack().isLeaving() && now - l.sentAt() <= config.instanceLiveness().toMillis())
            .map(Latest::ack).toList();
    }

    private void run() {
        try {
            read();
        } finally {
            consumer.close(Duration.ofSeconds(1));
        }
    }

    private void read() {
        while (running) {
            try {
                List<TopicPartition> partitions = consumer.partitionsFor(Topics.RULE_ACKS, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                if (partitions.isEmpty()) {
                    continue;
                }
                consumer.assign(partitions);
                // Only recent acknowledgements matter: older instances are not live any more.
                long since = time.millis() - 2 * config.instanceLiveness().toMillis();
                Map<TopicPartition, OffsetAndTimestamp> start = consumer.offsetsForTimes(
                    partitions.stream().collect(Collectors.toMap(Function.identity(), p -> since)), Duration.ofSeconds(10));
                for (TopicPartition p : partitions) {
                    OffsetAndTimestamp at = start.get(p);
                    if (at == null) {
                        consumer.seekToEnd(List.of(p));
                    } else {
                        consumer.seek(p, at.offset());
                    }
                }
                while (running) {
                    for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                        apply(record);
                    }
                }
            } catch (WakeupException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("reading {} failed ({}); retrying", Topics.RULE_ACKS, e.toString());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void apply(ConsumerRecord<String, String> record) {
        try {
            RuleAck ack = json.readValue(record.value(), RuleAck.class);
            if (ack.instance() == null) {
                return;
            }
            instances.merge(ack.instance(), new Latest(ack, record.timestamp()),
                (held, next) -> next.sentAt() >= held.sentAt() ? next : held);
        } catch (java.io.IOException | RuntimeException e) {
            LOG.debug("ignoring an unreadable acknowledgement at offset {}: {}", record.offset(), e.toString());
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
