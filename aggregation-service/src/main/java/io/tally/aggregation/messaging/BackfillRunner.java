package io.tally.aggregation.messaging;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import io.tally.aggregation.config.AggregationConfig;
import io.tally.aggregation.persistence.FencedRedisWriter;
import io.tally.fold.ApplyOutcome;
import io.tally.fold.BackfillIds;
import io.tally.fold.CompiledRule;
import io.tally.fold.MicroBatch;
import io.tally.fold.PartitionFold;
import io.tally.fold.PartitionState;
import io.tally.fold.RuleDelta;
import io.tally.model.KafkaClients;
import io.tally.model.RuleAck;
import io.tally.model.RuleRecord;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs the backfills of rule versions ({@link RuleRecord#backfilling()}): the version's retained events, from the instant
 * its span starts up to where the engine took it over on each partition ({@link EventConsumerLoop}'s hand-off), folded as
 * the engine folds them (the same {@link PartitionFold}: watermarks, lateness and duplicates of that tenant's events,
 * rebuilt from the start of the span) and written with the same scripts into the version's own keys, each batch moving
 * the backfill's own fence. So every retained event is counted once: by the backfill up to the hand-off, by the engine
 * after it. While it runs the version before keeps serving; when the backfill reached every hand-off (and Redis replicated
 * it) it reports {@code done} on {@code tally.rule-acks}, and the rules service publishes the version serving.
 * <p>
 * One instance runs a version's backfill at a time, under a lease in Redis (kept every second, taken over by another
 * instance fifteen seconds after its holder went away); the fences make even two at once harmless. A failure (Redis or
 * Kafka away, a failover) starts it again from the start of the span after a back-off: the events up to its fences are
 * read again to rebuild watermarks and ids, and not written twice. It fails for good, reporting why, only when a batch
 * cannot be written at all or the span holds more ids than it may keep ({@link BackfillIds}).
 */
@Singleton
public class BackfillRunner implements ApplicationEventListener<ServerStartupEvent>, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BackfillRunner.class);
    private static final Duration LEASE = Duration.ofSeconds(15);
    private static final String DONE = "done";

    private final String bootstrap;
    private final AggregationConfig config;
    private final RuleFeed feed;
    private final FencedRedisWriter writer;
    private final TimeSource time;
    private final String owner;
    private final Counter eventsCounter;
    private final Map<String, Job> running = new ConcurrentHashMap<>();
    /** The last report of each backfill this instance ended, re-sent while its version still waits for the switch. */
    private final Map<String, RuleAck.BackfillReport> ended = new ConcurrentHashMap<>();
    private final ScheduledExecutorService ticker =
        Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("backfills").daemon().factory());
    private long lastFailureLog;

    public BackfillRunner(@Value("${kafka.bootstrap.servers}") String bootstrap, AggregationConfig config, RuleFeed feed,
                          FencedRedisWriter writer, MeterRegistry meters, TimeSource time) {
        this.bootstrap = bootstrap;
        this.config = config;
        this.feed = feed;
        this.writer = writer;
        this.time = time;
        this.owner = feed.instance();
        this.eventsCounter = meters.counter("tally.aggregation.backfill.events");
    }

    @Override
    public void onApplicationEvent(ServerStartupEvent event) {
        ticker.scheduleWithFixedDelay(this::tickQuietly, 1, 1, TimeUnit.SECONDS);
    }

    private void tickQuietly() {
        try {
            tick();
        } catch (RuntimeException e) {
            long now = time.millis();
            if (now - lastFailureLog > 30_000) {
                lastFailureLog = now;
                LOG.warn("looking after backfills failed (tried again every second): {}", e.toString());
            }
        }
    }

    /** Stops the jobs whose version no longer backfills, keeps the leases of the others, starts the ones nobody runs. */
    private void tick() {
        List<CompiledRule> shadows = feed.active().shadows();
        Set<String> wanted = shadows.stream().map(CompiledRule::key).collect(Collectors.toSet());
        running.forEach((key, job) -> {
            if (!wanted.contains(key)) {
                job.stop("its version no longer backfills (replaced, deleted or switched over)");
            } else if (!job.ending && !owner.equals(writer.lease(job.rule, owner, LEASE))) {
                job.stop("another instance holds its lease now");
            }
        });
        ended.keySet().retainAll(wanted);
        for (CompiledRule rule : shadows) {
            if (running.containsKey(rule.key())) {
                continue;
            }
            RuleAck.BackfillReport over = ended.get(rule.key());
            if (over != null) {
                feed.report(over);
                continue;
            }
            if (running.size() >= config.backfillConcurrency()) {
                continue;
            }
            String holder = writer.lease(rule, owner, LEASE);
            if (DONE.equals(holder)) {
                // Ended on another instance (or before a restart): say so again, so the rules service hears it.
                feed.report(new RuleAck.BackfillReport(rule.tenant(), rule.id(), rule.version(), RuleRecord.Backfill.DONE, 0, null, 0L, null));
            } else if (owner.equals(holder)) {
                Job job = new Job(rule);
                running.put(rule.key(), job);
                Thread.ofPlatform().name("backfill-" + rule.id() + "-v" + rule.version()).daemon().start(job);
            }
        }
    }

    /** A backfill that cannot go on as it is: it is reported failed with this reason. */
    static final class Failed extends RuntimeException {
        Failed(String message) {
            super(message);
        }
    }

    /** One version's backfill, on a thread of its own. */
    private final class Job implements Runnable {

        private final CompiledRule rule;
        private volatile boolean stopped;
        private volatile boolean ending;
        /** The tenant's events folded so far. */
        private long eventsRead;
        /** Records of the event log read so far (every tenant's: they share the log): the progress reported. */
        private volatile long recordsRead;

        Job(CompiledRule rule) {
            this.rule = rule;
        }

        void stop(String why) {
            if (!stopped) {
                LOG.info("backfill of rule {} of tenant {} version {} stops: {}", rule.id(), rule.tenant(), rule.version(), why);
            }
            stopped = true;
        }

        @Override
        public void run() {
            int failures = 0;
            try {
                while (!stopped) {
                    try {
                        runOnce();
                        return;
                    } catch (Failed | BackfillIds.TooMany e) {
                        fail(e.getMessage());
                        return;
                    } catch (RuntimeException e) {
                        if (stopped) {
                            return;
                        }
                        long backoff = Math.min(8_000, 500L << Math.min(4, failures++));
                        LOG.warn("backfill of rule {} of tenant {} version {} failed; starting again from its fences in {} ms: {}",
                            rule.id(), rule.tenant(), rule.version(), backoff, e.toString());
                        report(RuleRecord.Backfill.RUNNING, null, null, null);
                        EventConsumerLoop.sleepQuietly(backoff);
                    }
                }
            } finally {
                running.remove(rule.key());
            }
        }

        private void fail(String reason) {
            LOG.error("backfill of rule {} of tenant {} version {} failed: {}", rule.id(), rule.tenant(), rule.version(), reason);
            ending = true;
            RuleAck.BackfillReport report = report(RuleRecord.Backfill.FAILED, null, null, reason);
            ended.put(rule.key(), report);
            writer.leaseDone(rule, owner, Duration.ofMillis(rule.metaTtlMillis()));
        }

        private void runOnce() {
            RuleRecord record = rule.record();
            String tenant = rule.tenant();
            CompiledRule view = CompiledRule.compileBackfill(record);
            List<CompiledRule> shards = view.allShards();
            long from;
            try {
                from = Instant.parse(record.backfill().from()).toEpochMilli();
            } catch (DateTimeParseException e) {
                throw new Failed("the backfill's start " + record.backfill().from() + " is not an instant");
            }
            eventsRead = 0;
            recordsRead = 0;
            try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(KafkaClients.with(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.CLIENT_ID_CONFIG, "aggregation-backfill",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, (int) (config.backfillRate() > 0 ? Math.max(1, Math.min(config.maxBatchEvents(),
                    config.backfillRate() / 4)) : config.maxBatchEvents()))), new StringDeserializer(), new ByteArrayDeserializer())) {
                List<TopicPartition> partitions = consumer.partitionsFor(Topics.EVENTS).stream()
                    .map(info -> new TopicPartition(info.topic(), info.partition())).toList();
                consumer.assign(partitions);
                Map<TopicPartition, Long> at = new HashMap<>();
                partitions.forEach(p -> at.put(p, from));
                Map<TopicPartition, OffsetAndTimestamp> starts = consumer.offsetsForTimes(at);
                Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
                Map<Integer, Long> handoffs = awaitHandoffs(view, partitions);
                if (handoffs == null) {
                    return;
                }
                Map<String, Map<Integer, Long>> fences = writer.backfillFences(shards);
                Map<Integer, PartitionState> states = new HashMap<>();
                Map<Integer, Long> stops = new HashMap<>();
                Map<Integer, Long> positions = new HashMap<>();
                long total = 0;
                List<TopicPartition> idle = new ArrayList<>();
                for (TopicPartition tp : partitions) {
                    int p = tp.partition();
                    PartitionState state = new PartitionState();
                    for (CompiledRule shard : shards) {
                        Long fence = fences.getOrDefault(shard.key(), Map.of()).get(p);
                        if (fence != null) {
                            state.setFence(shard, fence);
                        }
                    }
                    states.put(p, state);
                    OffsetAndTimestamp start = starts.get(tp);
                    long first = start == null ? ends.get(tp) : start.offset();
                    long last = handoffs.get(p);
                    if (first > last) {
                        idle.add(tp);
                    } else {
                        consumer.seek(tp, first);
                        stops.put(p, last);
                        total += last + 1 - first;
                    }
                }
                consumer.pause(idle);
                LOG.info("backfill of rule {} of tenant {} version {} reads {} records of {} partitions from {} up to the hand-offs {}",
                    rule.id(), tenant, rule.version(), total, stops.size(), Instant.ofEpochMilli(from), handoffs);
                BackfillIds ids = new BackfillIds(config.backfillMaxIds());
                Map<Integer, List<MicroBatch.Source>> buffer = new LinkedHashMap<>();
                int buffered = 0;
                long scanned = 0;
                long started = time.millis();
                long reported = 0;
                String prefix = tenant + ":";
                while (!stops.isEmpty()) {
                    if (stopped) {
                        return;
                    }
                    ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(200));
                    for (ConsumerRecord<String, byte[]> r : records) {
                        Long stop = stops.get(r.partition());
                        if (stop == null || r.offset() > stop) {
                            continue;
                        }
                        scanned++;
                        recordsRead = scanned;
                        positions.put(r.partition(), r.timestamp());
                        if (r.key() != null && r.key().startsWith(prefix)) {
                            buffer.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(new MicroBatch.Source(r.offset(), r.value()));
                            buffered++;
                        }
                    }
                    for (TopicPartition tp : partitions) {
                        Long stop = stops.get(tp.partition());
                        if (stop != null && consumer.position(tp) > stop) {
                            stops.remove(tp.partition());
                            consumer.pause(List.of(tp));
                        }
                    }
                    if (buffered >= config.maxBatchEvents() || (buffered > 0 && (records.isEmpty() || stops.isEmpty()))) {
                        flush(view, tenant, buffer, states, ids);
                        buffer.clear();
                        buffered = 0;
                    }
                    long now = time.millis();
                    if (config.backfillRate() > 0) {
                        // Paced: never ahead of the rate since the start (checked between polls of at most a quarter second's records).
                        long ahead;
                        while (!stopped && (ahead = started + scanned * 1_000 / config.backfillRate() - time.millis()) > 0) {
                            EventConsumerLoop.sleepQuietly(Math.min(ahead, 250));
                        }
                        now = time.millis();
                    }
                    if (now - reported >= 1_000) {
                        reported = now;
                        long left = 0;
                        for (Map.Entry<Integer, Long> s : stops.entrySet()) {
                            left += s.getValue() + 1 - consumer.position(new TopicPartition(Topics.EVENTS, s.getKey()));
                        }
                        double rate = scanned / Math.max(0.001, (now - started) / 1000.0);
                        Long eta = scanned == 0 ? null : (long) Math.ceil(left / Math.max(1.0, rate));
                        long position = stops.keySet().stream().mapToLong(p -> positions.getOrDefault(p, from)).min()
                            .orElse(positions.values().stream().mapToLong(Long::longValue).max().orElse(from));
                        report(RuleRecord.Backfill.RUNNING, Instant.ofEpochMilli(position).toString(), eta, null);
                    }
                }
                if (buffered > 0) {
                    flush(view, tenant, buffer, states, ids);
                }
                // Nothing is reported done that a failover could still take back.
                writer.awaitReplicas(config.minReplicas(), config.replicaTimeout());
                long position = positions.values().stream().mapToLong(Long::longValue).max().orElse(from);
                ending = true;
                RuleAck.BackfillReport done = report(RuleRecord.Backfill.DONE, Instant.ofEpochMilli(position).toString(), 0L, null);
                ended.put(rule.key(), done);
                writer.leaseDone(rule, owner, Duration.ofMillis(rule.metaTtlMillis()));
                LOG.info("backfill of rule {} of tenant {} version {} done: {} events of the tenant in {} records read in {} ms", rule.id(), tenant,
                    rule.version(), eventsRead, scanned, time.millis() - started);
            }
        }

        /** Waits until the engine handed the version off on every partition; null when the job was stopped meanwhile. */
        private Map<Integer, Long> awaitHandoffs(CompiledRule view, List<TopicPartition> partitions) {
            Set<Integer> all = partitions.stream().map(TopicPartition::partition).collect(Collectors.toSet());
            long since = time.millis();
            while (!stopped) {
                Map<Integer, Long> handoffs = writer.handoffs(view);
                if (handoffs.keySet().containsAll(all)) {
                    return handoffs;
                }
                if (time.millis() - since > 10_000) {
                    since = time.millis();
                    LOG.info("backfill of rule {} of tenant {} version {} waits for the engine to take the version over on partitions {}",
                        rule.id(), rule.tenant(), rule.version(), all.stream().filter(p -> !handoffs.containsKey(p)).sorted().toList());
                }
                report(RuleRecord.Backfill.RUNNING, null, null, null);
                EventConsumerLoop.sleepQuietly(250);
            }
            return null;
        }

        /** Folds and writes one batch of the tenant's records; moves the backfill's fences past it. */
        private void flush(CompiledRule view, String tenant, Map<Integer, List<MicroBatch.Source>> buffer, Map<Integer, PartitionState> states,
                           BackfillIds ids) {
            List<CompiledRule> tenantRules = List.of(view);
            MicroBatch batch = new MicroBatch(buffer, t -> t.equals(tenant) ? tenantRules : List.of());
            List<PartitionFold> folds = batch.fold(states, time.millis(), r -> Long.MIN_VALUE, ids.seen(tenant, batch.reads()),
                config.maxScriptCells());
            Map<Integer, Map<String, ApplyOutcome>> outcomes = writer.applyAsync(folds, states).outcomes();
            for (PartitionFold fold : folds) {
                Map<String, ApplyOutcome> byRule = outcomes.getOrDefault(fold.partition(), Map.of());
                for (Map.Entry<String, RuleDelta> delta : fold.deltas().entrySet()) {
                    ApplyOutcome outcome = byRule.get(delta.getKey());
                    if (outcome == null) {
                        continue;
                    }
                    if (outcome.poisoned()) {
                        throw new Failed("a batch of partition " + fold.partition() + " cannot be written: " + outcome.problem());
                    }
                    if (!outcome.applied() && outcome.result() != 0) {
                        throw new IllegalStateException("the backfill's fence on partition " + fold.partition() + " is not where it left it"
                            + " (a failover took writes back, or another instance backfills the version)");
                    }
                    states.get(fold.partition()).setFence(delta.getValue().rule(), fold.lastOffset());
                }
                ids.keep(fold, tenant);
                eventsRead += fold.events();
                eventsCounter.increment(fold.events());
            }
        }

        private RuleAck.BackfillReport report(String state, String position, Long eta, String reason) {
            RuleAck.BackfillReport report = new RuleAck.BackfillReport(rule.tenant(), rule.id(), rule.version(), state, recordsRead, position, eta, reason);
            feed.report(report);
            return report;
        }
    }

    @PreDestroy
    @Override
    public void close() {
        ticker.shutdownNow();
        running.values().forEach(job -> job.stop("the service stops"));
    }
}
