package io.tally.rules.messaging;

import io.micronaut.configuration.kafka.ConsumerSeekAware;
import io.micronaut.configuration.kafka.annotation.KafkaListener;
import io.micronaut.configuration.kafka.annotation.OffsetReset;
import io.micronaut.configuration.kafka.annotation.OffsetStrategy;
import io.micronaut.configuration.kafka.annotation.Topic;
import io.micronaut.configuration.kafka.seek.KafkaSeeker;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleAck;
import io.tally.model.RuleFailure;
import io.tally.model.RuleRecord;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import io.tally.rules.config.RulesConfig;
import io.tally.rules.persistence.RuleStore;
import io.tally.runtime.ReadFromTime;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What every aggregation instance has applied, from their acknowledgements on {@code tally.rule-acks}
 * (read by every rules-service replica in a consumer group of its own, nothing committed, starting a little before
 * now). A rule version published at a position on {@code tally.rules} is active once every live instance has read
 * past it.
 */
@KafkaListener(groupId = "rules-service-acks", uniqueGroupId = true,
    clientId = "rules-service-acks", offsetStrategy = OffsetStrategy.DISABLED, offsetReset = OffsetReset.LATEST)
public class AggregationAcks implements ConsumerSeekAware {

    private static final Logger LOG = LoggerFactory.getLogger(AggregationAcks.class);

    /** The latest acknowledgement of one instance and when it was sent (ms). */
    private record Latest(RuleAck ack, long sentAt) {
    }

    private final Map<String, Latest> instances = new ConcurrentHashMap<>();
    private final ObjectMapper json;
    private final RulesConfig config;
    private final TimeSource time;
    /** Only recent acknowledgements matter: older instances are not live any more. */
    private final ReadFromTime from;

    private final RuleStore store;
    /**
     * The latest report of each backfill ({@code tenant:id:version}) from whichever instance runs it; the most recent
     * {@link #BACKFILLS_KEPT} only (a backfill long over is shown from the store).
     */
    private final Map<String, RuleAck.BackfillReport> backfills = Collections.synchronizedMap(
        new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, RuleAck.BackfillReport> eldest) {
                return size() > BACKFILLS_KEPT;
            }
        });
    private static final int BACKFILLS_KEPT = 10_000;

    public AggregationAcks(ObjectMapper json, RulesConfig config, TimeSource time, RuleStore store) {
        this.json = json;
        this.store = store;
        this.config = config;
        this.time = time;
        this.from = new ReadFromTime(() -> time.millis() - 2 * config.instanceLiveness().toMillis());
    }

    /** True when at least one aggregation instance is live and every live one has applied the record at partition/offset. */
    public boolean appliedEverywhere(int partition, long offset) {
        List<RuleAck> live = live();
        return !live.isEmpty() && live.stream().allMatch(a -> a.hasApplied(partition, offset));
    }

    /** Why a live aggregation instance cannot run this rule version, if one says so. */
    public Optional<String> failure(String tenant, String ruleId, int version) {
        return live().stream().filter(a -> a.failed() != null).flatMap(a -> a.failed().stream())
            .filter(f -> f.tenant().equals(tenant) && f.ruleId().equals(ruleId) && f.version() == version)
            .map(RuleFailure::reason).findFirst();
    }

    /** How the backfill of this rule version goes, as the instance running it last reported. */
    public Optional<RuleAck.BackfillReport> backfill(String tenant, String ruleId, int version) {
        return Optional.ofNullable(backfills.get(tenant + ":" + ruleId + ":" + version));
    }

    /** The aggregation instances heard from within the liveness interval that have not said goodbye. */
    public List<RuleAck> live() {
        long now = time.millis();
        return instances.values().stream()
            .filter(l -> !l.ack().isLeaving() && now - l.sentAt() <= config.instanceLiveness().toMillis())
            .map(Latest::ack).toList();
    }

    /**
     * Keeps a backfill's progress; an ended one ends the version's backfill in the store (once, whichever replica gets there
     * first): done publishes the version serving, failed keeps the version before.
     */
    private void backfillReported(RuleAck.BackfillReport report) {
        String key = report.tenant() + ":" + report.ruleId() + ":" + report.version();
        RuleAck.BackfillReport held = backfills.get(key);
        boolean ended = !RuleRecord.Backfill.RUNNING.equals(report.state());
        if (held != null && !RuleRecord.Backfill.RUNNING.equals(held.state()) && !ended) {
            return; // a late progress report of a backfill that ended
        }
        backfills.put(key, report);
        if (ended) {
            try {
                if (store.endBackfill(report.tenant(), report.ruleId(), report.version(), report.state(), report.reason())) {
                    LOG.info("the backfill of rule {} of tenant {} version {} is {}{}: {} events counted", report.ruleId(), report.tenant(),
                        report.version(), report.state(), report.reason() == null ? "" : " (" + report.reason() + ")", report.eventsRead());
                }
            } catch (RuntimeException e) {
                backfills.remove(key); // heard again within a second: tried again then
                LOG.warn("could not record that the backfill of rule {} version {} is {} (tried again at its next report): {}", report.ruleId(),
                    report.version(), report.state(), e.toString());
            }
        }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions, KafkaSeeker seeker) {
        from.assigned(partitions, seeker);
    }

    @Topic(Topics.RULE_ACKS)
    void receive(ConsumerRecord<String, String> record) {
        from.took(record);
        apply(record);
    }

    private void apply(ConsumerRecord<String, String> record) {
        try {
            RuleAck ack = json.readValue(record.value(), RuleAck.class);
            if (ack.instance() == null) {
                return;
            }
            instances.merge(ack.instance(), new Latest(ack, record.timestamp()),
                (held, next) -> next.sentAt() >= held.sentAt() ? next : held);
            if (ack.backfills() != null) {
                ack.backfills().forEach(this::backfillReported);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("ignoring an unreadable acknowledgement at offset {}: {}", record.offset(), e.toString());
        }
    }
}
