package io.tally.subscription.messaging;

import io.micronaut.configuration.kafka.ConsumerSeekAware;
import io.micronaut.configuration.kafka.annotation.KafkaListener;
import io.micronaut.configuration.kafka.annotation.OffsetReset;
import io.micronaut.configuration.kafka.annotation.OffsetStrategy;
import io.micronaut.configuration.kafka.annotation.Topic;
import io.micronaut.configuration.kafka.seek.KafkaSeeker;
import io.micronaut.context.annotation.Property;
import io.micronaut.serde.ObjectMapper;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.context.Context;
import io.tally.model.RuleChange;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import io.tally.runtime.ReadFromTime;
import io.tally.subscription.config.SubscriptionConfig;
import io.tally.subscription.domain.Fanout;
import io.tally.telemetry.KafkaTraces;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;

/**
 * Every instance reads all of {@code tally.updates} (a consumer group of its own, nothing committed), starting the
 * history interval back so resumes work right after a start, and hands each change announcement to the
 * {@link Fanout}. micronaut-kafka runs the poll loop: it waits for Kafka while it is away and stops on shutdown.
 */
@KafkaListener(groupId = "subscription-updates", uniqueGroupId = true,
    clientId = "subscription-updates", offsetStrategy = OffsetStrategy.DISABLED, offsetReset = OffsetReset.LATEST,
    pollTimeout = "100ms", properties = {
        @Property(name = ConsumerConfig.MAX_POLL_RECORDS_CONFIG, value = "2000"),
        @Property(name = ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, value = "20")})
public class UpdateFeed implements ConsumerSeekAware {

    private static final Logger LOG = LoggerFactory.getLogger(UpdateFeed.class);

    private final Fanout fanout;
    private final ObjectMapper json;
    private final long historyMillis;
    private final ReadFromTime from;
    private volatile boolean started;

    public UpdateFeed(Fanout fanout, ObjectMapper json, SubscriptionConfig config, TimeSource time) {
        this.fanout = fanout;
        this.json = json;
        this.historyMillis = config.history().toMillis();
        this.from = new ReadFromTime(() -> time.millis() - historyMillis);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions, KafkaSeeker seeker) {
        from.assigned(partitions, seeker);
        if (!partitions.isEmpty() && !started) {
            started = true;
            LOG.info("Reading {} ({} partitions) from {} s back", Topics.UPDATES, partitions.size(), historyMillis / 1000);
        }
    }

    @Topic(Topics.UPDATES)
    void receive(ConsumerRecord<String, byte[]> record) {
        from.took(record);
        RuleChange change;
        try {
            change = json.readValue(record.value(), RuleChange.class);
        } catch (Exception e) {
            LOG.warn("Skipping an unreadable record at {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), e.getMessage());
            return;
        }
        // The announcement continues the trace of an event it covers, when that one was sampled.
        SpanContext trace = KafkaTraces.sampledParent(record.headers());
        fanout.offer(change, record.timestamp(), trace == null ? null : Context.root().with(Span.wrap(trace)));
    }
}
