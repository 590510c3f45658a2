package io.tally.aggregation.messaging;

import io.github.resilience4j.core.IntervalFunction;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import io.opentelemetry.api.OpenTelemetry;
import io.tally.aggregation.config.AggregationConfig;
import io.tally.aggregation.persistence.FencedRedisWriter;
import io.tally.fold.ActiveRules;
import io.tally.fold.ApplyOutcome;
import io.tally.fold.CompiledRule;
import io.tally.fold.MicroBatch;
import io.tally.fold.PartitionFold;
import io.tally.fold.PartitionState;
import io.tally.fold.PoisonBatches;
import io.tally.fold.ReadPosition;
import io.tally.fold.Settlement;
import io.tally.model.DeadLetter;
import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.KafkaClients;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import io.tally.telemetry.Observed;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The aggregation engine's single consumer thread: poll {@code tally.events}, fold micro-batches per
 * partition, flush them with fenced scripts, persist partition state, wait until Redis replicated all of it,
 * then commit offsets. Flushes are pipelined one deep: the next batch is read, looked up and folded while Redis
 * applies the scripts of the one before ({@link #flush}). Any failure of a flush (also one while partitions are revoked) rewinds every assigned
 * partition to where Redis holds it ({@link #seekToApplied}, never past its committed offset); the fences and the offsets kept with the dedup ids make the replay
 * harmless. The loop never ends on an error: it backs off ({@link #BACKOFF}) and tries
 * again, and {@link #health()} tells readiness when it has been failing for a while.
 */
@Singleton
public class EventConsumerLoop implements ApplicationEventListener<ServerStartupEvent>, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EventConsumerLoop.class);

    private final String bootstrap;
    private final AggregationConfig config;
    private final ActiveRules rules;
    private final FencedRedisWriter writer;
    private final RuleFeed feed;
    private final UpdatePublisher updates;
    private final Map<Integer, PartitionState> states = new ConcurrentHashMap<>();
    /** Versions being backfilled handed off on a partition by this instance ({@code ruleKey/partition}), since it was assigned. */
    private final Set<String> handedOff = new HashSet<>();
    private final Map<Integer, List<MicroBatch.Source>> buffer = new LinkedHashMap<>();
    private final Map<TopicPartition, OffsetAndMetadata> flushedUpTo = new HashMap<>();
    private final Counter eventsCounter;
    private final Counter duplicatesCounter;
    private final Counter lateCounter;
    private final Counter rewinds;
    private final Counter deadLettersCounter;
    private final PoisonBatches poison;
    private final Timer flushTimer;
    private final DistributionSummary batchEvents;
    private final MeterRegistry meters;
    private final EngineMetrics engine;
    private final BatchTraces traces;
    /** Per tenant, when its oldest buffered event was appended to the log (the record's timestamp). */
    private final Map<String, Long> oldestAppended = new HashMap<>();
    private final List<AutoCloseable> clientMetrics = new ArrayList<>();
    private final Map<Integer, AtomicLong> lags = new ConcurrentHashMap<>();
    private volatile boolean running = true;
    /** A flush failed where the loop could not rewind at once (inside a rebalance callback). */
    private boolean rewindPending;
    private final EngineHealth health;
    private final TimeSource time;
    private KafkaConsumer<String, byte[]> consumer;
    private KafkaProducer<String, byte[]> producer;
    private Thread thread;
    private int buffered;
    /** What folding the buffered events costs: windows joined times (1 + aggregations), over their tenants' rules. */
    private long bufferedCells;
    private int appliedBatches;
    private long oldestBufferedNanos;

    public EventConsumerLoop(@Value("${kafka.bootstrap.servers}") String bootstrap, AggregationConfig config,
                             RuleFeed feed, FencedRedisWriter writer, UpdatePublisher updates, MeterRegistry meters,
                             OpenTelemetry telemetry, TimeSource time) {
        this.time = time;
        this.health = new EngineHealth(time.clock());
        this.traces = new BatchTraces(telemetry, time);
        this.engine = new EngineMetrics(meters, config.metricsMaxTenants(), config.metricsMaxRules(), time::millis);
        this.updates = updates;
        this.bootstrap = bootstrap;
        this.config = config;
        this.rules = feed.active();
        this.writer = writer;
        this.eventsCounter = meters.counter("tally.aggregation.events");
        this.duplicatesCounter = meters.counter("tally.aggregation.duplicates");
        this.lateCounter = meters.counter("tally.aggregation.late");
        this.rewinds = meters.counter("tally.aggregation.rewinds");
        this.deadLettersCounter = meters.counter("tally.aggregation.dead.letters");
        this.poison = new PoisonBatches(config.poisonAttempts());
        this.flushTimer = meters.timer("tally.aggregation.flush");
        this.batchEvents = DistributionSummary.builder("tally.aggregation.batch.events").description("Events per batch the engine cut")
            .publishPercentiles(0.5, 0.99).register(meters);
        this.meters = meters;
        meters.gauge("tally.aggregation.partitions", states, Map::size);
        this.feed = feed;
    }

    @Override
    public void onApplicationEvent(ServerStartupEvent event) {
        consumer = new KafkaConsumer<>(KafkaClients.with(Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ConsumerConfig.GROUP_ID_CONFIG, config.groupId(),
            ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, config.instanceId(),
            ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 15_000,
            ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 3_000,
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.maxBatchEvents(),
            ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 20,
            ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, "org.apache.kafka.clients.consumer.CooperativeStickyAssignor")),
            new StringDeserializer(), new ByteArrayDeserializer());
        producer = new KafkaProducer<>(KafkaClients.with(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ProducerConfig.CLIENT_ID_CONFIG, "aggregation-side-outputs", ProducerConfig.LINGER_MS_CONFIG, 5,
            ProducerConfig.ACKS_CONFIG, "all")), new StringSerializer(), new ByteArraySerializer());
        clientMetrics.add(Observed.kafka(meters, consumer));
        clientMetrics.add(Observed.kafka(meters, producer));
        thread = Thread.ofPlatform().name("event-consumer").unstarted(this::run);
        thread.start();
    }

    private void run() {
        // Rules first: events folded before the catalog caught up would miss rules that exist.
        try {
            while (running && !feed.catalog().awaitCaughtUp(Duration.ofSeconds(5))) {
                LOG.info("waiting for the rule catalog to catch up with {}", Topics.RULES);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        consumer.subscribe(List.of(Topics.EVENTS), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                if (!rewindPending && !flushQuietly()) {
                    // The buffer also held records of partitions this instance keeps: read them again.
                    rewindPending = true;
                }
                commitQuietly(partitions);
                handedOff.clear();
                partitions.forEach(p -> {
                    states.remove(p.partition());
                    poison.forget(p.partition());
                    lagGauge(p.partition()).set(-1);
                });
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                // State is restored lazily by the first flush of each partition.
                partitions.forEach(p -> states.remove(p.partition()));
                LOG.info("assigned partitions {}", partitions.stream().map(TopicPartition::partition).sorted().toList());
                if (partitions.isEmpty() || rewindPending) {
                    return;
                }
                try {
                    seekToApplied(partitions);
                } catch (RuntimeException e) {
                    // Redis or Kafka is away: the loop rewinds (and so decides where to read from) once it can.
                    LOG.warn("could not find where Redis holds the assigned partitions to ({}); deciding again before the next batch", e.toString());
                    rewindPending = true;
                }
            }
        });
        int failures = 0;
        while (running) {
            try {
                // While a batch is in flight, the loop waits for its scripts (a few ms at a time) and polls without blocking
                // in between: its completion is what the loop waits for, and polling in a tight loop would take the CPU
                // Redis needs to apply it.
                Duration pollFor = POLL;
                if (inFlight != null && buffered < config.maxBatchEvents()) {
                    pollFor = inFlight.applying().awaitDone(IN_FLIGHT_WAIT) ? Duration.ZERO : Duration.ofMillis(1);
                }
                var records = consumer.poll(pollFor);
                if (rewindPending) {
                    // What this poll returned lies past the records the failed flush dropped.
                    rewind();
                    continue;
                }
                Map<String, Integer> costs = new HashMap<>();
                for (ConsumerRecord<String, byte[]> record : records) {
                    if (buffered == 0) {
                        oldestBufferedNanos = time.nanos();
                    }
                    buffer.computeIfAbsent(record.partition(), p -> new ArrayList<>()).add(new MicroBatch.Source(record.offset(), record.value()));
                    buffered++;
                    String tenant = tenantOf(record.key());
                    oldestAppended.merge(tenant, record.timestamp(), Math::min);
                    traces.read(record.headers(), record.partition(), record.offset(), tenant);
                    // A batch is bounded by what folding it costs (the deltas its events make), not only by events: one
                    // tenant's rule with 1,440 windows per event must not turn one poll into millions of deltas.
                    bufferedCells += costs.computeIfAbsent(tenant, this::foldingCost);
                    if (bufferedCells >= config.maxBatchCells()) {
                        flush();
                    }
                }
                if (inFlight != null && (inFlight.applying().isDone() || buffered == 0 && records.isEmpty())) {
                    completeInFlight();
                }
                // Batches size themselves: one is cut when full, or when its oldest event waited the batch delay and no
                // batch is in flight. While Redis applies one, the next grows (to the full size when the engine is behind,
                // so each script carries more); caught up, each is applied soon after its events arrive.
                if (buffered >= config.maxBatchEvents()
                    || (buffered > 0 && inFlight == null && time.nanos() - oldestBufferedNanos >= config.maxBatchDelay().toNanos())) {
                    flush();
                    health.succeeded();
                    failures = 0;
                } else if (buffered == 0 && inFlight == null) {
                    health.succeeded();
                    // Idle: a version being backfilled is handed off now, not when the next event comes (its backfill waits for it).
                    if (rules.anyShadow()) {
                        handOffShadows(rules.all(), Map.of());
                    }
                }
                markCaughtUp();
            } catch (WakeupException e) {
                break;
            } catch (RuntimeException | Error e) {
                long backoff = BACKOFF.apply(++failures);
                health.failed(e);
                LOG.warn("flush failed, rewinding every assigned partition to where Redis holds it and trying again in {} ms: {}",
                    backoff, e.toString());
                rewindPending = true;
                sleepQuietly(backoff);
                try {
                    rewind();
                } catch (WakeupException w) {
                    break;
                } catch (RuntimeException r) {
                    LOG.warn("rewinding failed (tried again before the next batch): {}", r.toString());
                }
            }
        }
        if (!rewindPending) {
            flushQuietly();
        } else {
            dropInFlight();
        }
        commitQuietly(consumer.assignment());
        consumer.close(Duration.ofSeconds(5));
        health.stopped();
    }

    private static final Duration POLL = Duration.ofMillis(10);
    private static final Duration IN_FLIGHT_WAIT = Duration.ofMillis(5);

    /** Between failed flushes: 250 ms doubling to 2 s, each ±50 % so instances failing together do not retry together. */
    static final IntervalFunction BACKOFF = IntervalFunction.ofExponentialRandomBackoff(Duration.ofMillis(250), 2.0, 0.5, Duration.ofSeconds(2));
    private long caughtUpMarkedAt;

    /**
     * Twice a second, records which assigned partitions the engine has read and applied to the end: only time
     * spent caught up counts towards a partition's idleness ({@link io.tally.fold.Finality}).
     */
    private void markCaughtUp() {
        long now = time.millis();
        if (now - caughtUpMarkedAt < 500) {
            return;
        }
        caughtUpMarkedAt = now;
        List<Integer> caughtUp = new ArrayList<>();
        for (TopicPartition p : consumer.assignment()) {
            var lag = consumer.currentLag(p);
            lagGauge(p.partition()).set(lag.isPresent() ? lag.getAsLong() : -1);
            if (lag.isPresent() && lag.getAsLong() == 0 && !buffer.containsKey(p.partition()) && (inFlight == null || !inFlight.holds(p.partition()))) {
                caughtUp.add(p.partition());
            }
        }
        if (!caughtUp.isEmpty()) {
            writer.markCaughtUp(caughtUp, now);
        }
    }

    /**
     * tally_aggregation_consumer_lag{partition}: records of the partition not yet read, as of the last check (twice a
     * second); -1 while unknown, and -1 again once the partition is assigned elsewhere.
     */
    private AtomicLong lagGauge(int partition) {
        return lags.computeIfAbsent(partition, p -> {
            AtomicLong lag = new AtomicLong(-1);
            Gauge.builder("tally.aggregation.consumer.lag", lag, AtomicLong::get).description("Records of the partition not yet read")
                .tag("partition", Integer.toString(p)).register(meters);
            return lag;
        });
    }

    /** The tenant of an event record: its key is {@code tenant:id} (tenants never contain ':'). */
    private static String tenantOf(String key) {
        int colon = key == null ? -1 : key.indexOf(':');
        return colon < 0 ? "" : key.substring(0, colon);
    }

    /**
     * What folding one event of the tenant costs: over its rules, the windows it joins times (1 + the rule's
     * aggregations), the deltas it makes (at least 1: decoding and dedup cost too).
     */
    private int foldingCost(String tenant) {
        int cells = 0;
        for (var rule : rules.of(tenant)) {
            cells += rule.windows().windowsPerEvent() * (1 + rule.ops().length);
        }
        return Math.max(1, cells);
    }

    /** Whether the engine is applying batches (for readiness). */
    public EngineHealth health() {
        return health;
    }

    /** The buffer, cut into a batch: its records and what was read about them. */
    private record Cut(Map<Integer, List<MicroBatch.Source>> records, int events, Map<String, Long> oldestAppended, BatchTraces traces,
                       long cutNanos, Instant started) {
    }

    /** A batch decoded, looked up and folded, not yet sent. */
    private record Prepared(Cut cut, MicroBatch batch, List<PartitionFold> folds, List<Event> late) {
    }

    /** A batch whose scripts Redis is running: what completing it needs. */
    private record InFlight(Prepared prepared, FencedRedisWriter.Applying applying, long sentNanos) {

        boolean holds(int partition) {
            return prepared.cut().records().containsKey(partition);
        }
    }

    /** The batch whose scripts Redis is running, or null. */
    private InFlight inFlight;

    /**
     * Cuts the buffer into a batch and flushes it, pipelined with the batch before: this batch is decoded, looked up
     * and folded while Redis still applies the one before; then that one is completed and this one's scripts are sent
     * (so the scripts of a rule shard reach Redis in offset order, each batch's expecting the fence the one before left).
     * This batch completes later ({@link #completeInFlight}), while the next one is read and folded.
     */
    private void flush() {
        if (buffered == 0) {
            completeInFlight();
            return;
        }
        Prepared next = prepare(cutBuffer());
        completeInFlight();
        send(next);
        if (!config.pipeline()) {
            completeInFlight();
        }
    }

    /** Flushes everything buffered and waits until it is complete (before partitions go, and at shutdown). */
    private void flushAndComplete() {
        flush();
        completeInFlight();
    }

    private Cut cutBuffer() {
        Cut cut = new Cut(new LinkedHashMap<>(buffer), buffered, new HashMap<>(oldestAppended), traces.takeBatch(), time.nanos(),
            Instant.ofEpochMilli(time.millis()));
        dropBuffer();
        return cut;
    }

    /**
     * Decodes and looks up (fences, finality marks, dedup ids: one pipelined round trip, on the look-up connection)
     * and folds a batch. The ids of the batch in flight are not in the dedup index yet: they are taken from its folds.
     */
    private Prepared prepare(Cut cut) {
        long now = time.millis();
        // One view of the rules for the whole batch: a version being backfilled is handed off before it is folded at all.
        Map<String, List<CompiledRule>> ruleView = rules.all();
        if (rules.anyShadow()) {
            handOffShadows(ruleView, cut.records());
        }
        MicroBatch batch = new MicroBatch(cut.records(), tenant -> ruleView.getOrDefault(tenant, List.of()));
        for (int partition : batch.partitions()) {
            states.computeIfAbsent(partition, p -> {
                PartitionState s = new PartitionState();
                writer.loadWatermarks(p, s);
                return s;
            });
        }
        for (MicroBatch.Unreadable bad : batch.unreadable()) {
            LOG.warn("an unreadable event at {}-{}@{} goes to {}: {}", Topics.EVENTS, bad.partition(), bad.offset(), Topics.DEAD_LETTERS, bad.reason());
        }
        long phase = time.nanos();
        FencedRedisWriter.Lookups found = writer.lookUp(batch.rulesByPartition(), states, batch.idLookups(states));
        Map<String, Long> closed = found.closedMarks();
        Map<Integer, Map<String, Map<String, Long>>> seen = found.seen();
        if (inFlight != null) {
            inFlight.prepared().folds().forEach(fold -> fold.addNewIdsTo(seen));
        }
        phase = lap("lookup", phase);
        List<PartitionFold> folds = batch.fold(states, now, rule -> closed.getOrDefault(rule.key(), Long.MIN_VALUE), seen, config.maxScriptCells());
        lap("fold", phase);
        List<Event> late = folds.stream().flatMap(f -> f.lateEvents().stream()).toList();
        return new Prepared(cut, batch, folds, late);
    }

    /**
     * Hands each version being backfilled ({@link CompiledRule#shadow()}) over on every assigned partition it was not handed
     * over on yet, before the first batch that folds it: this instance counts it from the first record of this batch (or,
     * for a partition without records in it, from the next one read), the backfill up to there. A hand-off set before (by
     * another instance, or before a crash) stays where it is.
     */
    private void handOffShadows(Map<String, List<CompiledRule>> ruleView, Map<Integer, List<MicroBatch.Source>> batch) {
        Set<TopicPartition> assigned = null;
        for (List<CompiledRule> tenantRules : ruleView.values()) {
            for (CompiledRule rule : tenantRules) {
                if (!rule.shadow()) {
                    continue;
                }
                if (assigned == null) {
                    assigned = consumer.assignment();
                }
                Map<Integer, Long> at = new HashMap<>();
                for (TopicPartition p : assigned) {
                    if (!handedOff.contains(rule.key() + "/" + p.partition())) {
                        List<MicroBatch.Source> records = batch.get(p.partition());
                        at.put(p.partition(), (records == null || records.isEmpty() ? consumer.position(p) : records.getFirst().offset()) - 1);
                    }
                }
                if (!at.isEmpty()) {
                    Map<Integer, Long> handoffs = writer.handOff(rule, at);
                    LOG.info("rule {} of tenant {} version {} (being backfilled) handed off on partitions {}: counted here after offsets {}",
                        rule.id(), rule.tenant(), rule.version(), at.keySet(), handoffs);
                    at.keySet().forEach(p -> handedOff.add(rule.key() + "/" + p));
                }
            }
        }
    }

    /** Publishes the batch's late events (before any fence moves: a replay never publishes them again), then sends its scripts. */
    private void send(Prepared prepared) {
        long phase = time.nanos();
        publishLate(prepared.late());
        phase = lap("late", phase);
        inFlight = new InFlight(prepared, writer.applyAsync(prepared.folds(), states, true), phase);
        batchEvents.record(prepared.cut().events());
    }

    /**
     * Completes the batch in flight, in the order that keeps it exact: await its scripts, settle their outcomes
     * ({@link Settlement}), quarantine poison, persist partition state, complete the flush on every Redis master
     * (applied marks, WAIT), announce, commit.
     */
    private void completeInFlight() {
        InFlight flight = inFlight;
        if (flight == null) {
            return;
        }
        Prepared prepared = flight.prepared();
        List<PartitionFold> folds = prepared.folds();
        long phase = time.nanos();
        Map<Integer, Map<String, ApplyOutcome>> outcomes = flight.applying().outcomes();
        phase = lap("apply", phase);
        inFlight = null;
        if (config.haltAfterApply() > 0 && ++appliedBatches >= config.haltAfterApply()) {
            LOG.warn("fault injection: halting after batch {} reached Redis, before its offsets are committed", appliedBatches);
            Runtime.getRuntime().halt(137);
        }
        Settlement settlement = Settlement.of(folds, outcomes, states, poison);
        quarantine(prepared.batch(), settlement.quarantines(), prepared.cut().started().toEpochMilli());
        phase = lap("quarantine", phase);
        writer.persistWatermarks(folds);
        phase = lap("persist", phase);
        // Nothing is announced, kept or committed before a replica holds it: a failover could still take it back.
        writer.completeFlush(folds, config.minReplicas(), config.replicaTimeout());
        phase = lap("replicate", phase);
        long events = folds.stream().mapToLong(PartitionFold::events).sum();
        updates.publish(settlement.announcements().stream().map(a -> new UpdatePublisher.Change(a.rule(), a.windows(), a.seq())).toList(),
            prepared.cut().traces().applied(prepared.cut().started(), events));
        phase = lap("publish", phase);
        // Asynchronous: the fences make exactness independent of commits, which only shorten a replay.
        Map<TopicPartition, OffsetAndMetadata> commits = new HashMap<>();
        prepared.cut().records().forEach((partition, records) -> commits.put(new TopicPartition(Topics.EVENTS, partition),
            new OffsetAndMetadata(records.getLast().offset() + 1)));
        flushedUpTo.putAll(commits);
        consumer.commitAsync(commits, (offsets, error) -> {
            if (error != null) {
                LOG.debug("committing offsets failed (a restart replays a little more): {}", error.toString());
            }
        });
        lap("commit", phase);
        for (PartitionFold fold : folds) {
            eventsCounter.increment(fold.events());
            duplicatesCounter.increment(fold.duplicates());
            for (var delta : fold.deltas().values()) {
                engine.counted(delta.rule(), delta.counted(), delta.lateEvents());
            }
            fold.watermarks().forEach(engine::watermark);
        }
        prepared.cut().oldestAppended().forEach(engine::applied);
        lateCounter.increment(prepared.late().size());
        flushTimer.record(time.nanos() - prepared.cut().cutNanos(), TimeUnit.NANOSECONDS);
    }

    /** Drops the batch in flight after a failure, once Redis answered its scripts (so a rewind reads the fences they left). */
    private void dropInFlight() {
        InFlight flight = inFlight;
        inFlight = null;
        if (flight != null) {
            flight.applying().awaitQuietly();
        }
    }

    /**
     * Sends the unreadable records and the events of each quarantined rule batch to the dead-letter topic, then (only
     * once they are safely there) moves each such rule's fence past its batch.
     */
    private void quarantine(MicroBatch batch, List<Settlement.Quarantine> quarantines, long now) {
        if (batch.unreadable().isEmpty() && quarantines.isEmpty()) {
            return;
        }
        Instant at = Instant.ofEpochMilli(now);
        List<Future<?>> sends = new ArrayList<>();
        for (MicroBatch.Unreadable bad : batch.unreadable()) {
            sends.add(sendDeadLetter(new DeadLetter(null, null, 0, bad.partition(), bad.offset(), bad.reason(), at), bad.bytes()));
        }
        for (Settlement.Quarantine q : quarantines) {
            int partition = q.fold().partition();
            long fence = states.get(partition).fence(q.rule());
            List<MicroBatch.Read> held = batch.matching(partition, q.rule(), fence);
            for (MicroBatch.Read r : held) {
                sends.add(sendDeadLetter(new DeadLetter(q.rule().tenant(), q.rule().id(), q.rule().version(), partition, r.offset(), q.reason(), at),
                    r.bytes()));
            }
            deadLettersCounter.increment(held.size());
            engine.deadLettered(q.rule(), held.size());
            LOG.error("quarantined {} event(s) of partition {} offsets {}..{} for rule {} of tenant {} to {} after {} failed tries: {}",
                held.size(), partition, fence + 1, q.fold().lastOffset(), q.rule().id(), q.rule().tenant(), Topics.DEAD_LETTERS,
                poison.failures(partition, q.rule().key()), q.reason());
        }
        awaitSends(sends, "dead letters");
        for (Settlement.Quarantine q : quarantines) {
            PartitionState state = states.get(q.fold().partition());
            if (!writer.quarantine(q.rule(), q.fold().partition(), state.fence(q.rule()), q.fold().lastOffset())) {
                throw new Settlement.ReadAgain("the fence of rule " + q.rule().id() + " on partition " + q.fold().partition()
                    + " moved under this instance while its batch was quarantined");
            }
            state.setFence(q.rule(), Math.max(state.fence(q.rule()), q.fold().lastOffset()));
        }
    }

    private Future<?> sendDeadLetter(DeadLetter letter, byte[] event) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.DEAD_LETTERS, letter.key(), event);
        letter.headers().forEach((name, value) -> record.headers().add(name, value));
        return producer.send(record);
    }

    private static void awaitSends(List<Future<?>> sends, String what) {
        for (Future<?> send : sends) {
            try {
                send.get(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(what + " could not be published: interrupted", e);
            } catch (Exception e) {
                throw new IllegalStateException(what + " could not be published: " + e.getMessage(), e);
            }
        }
    }

    /** Forgets what was read and not yet sent (sent now, or to be read again). */
    private void dropBuffer() {
        buffer.clear();
        buffered = 0;
        bufferedCells = 0;
        oldestAppended.clear();
        traces.clear();
    }

    /** Records the time of one flush phase (tally_aggregation_flush_phase_seconds{phase=...}). */
    private long lap(String name, long since) {
        long now = time.nanos();
        meters.timer("tally.aggregation.flush.phase", "phase", name).record(now - since, TimeUnit.NANOSECONDS);
        return now;
    }

    private void publishLate(List<Event> late) {
        List<Future<?>> sends = new ArrayList<>(late.size());
        for (Event e : late) {
            sends.add(producer.send(new ProducerRecord<>(Topics.LATE_EVENTS, e.partitionKey(), EventCodec.encode(e))));
        }
        awaitSends(sends, "late events");
    }

    /** Commits what was flushed of these partitions and waits for it (before they go, and on shutdown). */
    private void commitQuietly(Collection<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition p : partitions) {
            OffsetAndMetadata o = flushedUpTo.remove(p);
            if (o != null) {
                offsets.put(p, o);
            }
        }
        if (offsets.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(offsets, Duration.ofSeconds(5));
        } catch (RuntimeException e) {
            LOG.warn("committing offsets of {} failed; they will be replayed (harmless, fenced): {}", offsets.keySet(), e.toString());
        }
    }

    /** Drops the buffer, the batch in flight and partition state and seeks every assigned partition back to where Redis holds it. */
    private void rewind() {
        rewinds.increment();
        dropInFlight();
        dropBuffer();
        Set<TopicPartition> assigned = consumer.assignment();
        states.clear();
        if (assigned.isEmpty()) {
            rewindPending = false;
            return;
        }
        seekToApplied(assigned);
        rewindPending = false;
    }

    /**
     * Seeks each partition to where Redis, not Kafka, says the engine must read from: the committed offset, or
     * the mark of the Redis master that holds least of the partition if that is lower (a master restarted from an
     * older snapshot lost flushes that the committed offset is already past). The rules' fences make whatever is
     * read again harmless. Without a commit, from the lowest mark (every flush below it completed on every master),
     * else from the beginning of the log.
     */
    private void seekToApplied(Collection<TopicPartition> partitions) {
        Map<Integer, Long> marks = writer.appliedMarks(partitions.stream().map(TopicPartition::partition).toList());
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(new HashSet<>(partitions));
        for (TopicPartition p : partitions) {
            OffsetAndMetadata offset = committed.get(p);
            Long mark = marks.get(p.partition());
            long from = ReadPosition.of(offset == null ? null : offset.offset(), mark);
            if (from < 0) {
                consumer.seekToBeginning(List.of(p));
            } else {
                if (offset != null && from < offset.offset()) {
                    LOG.warn("partition {}: Redis holds flushes only up to offset {} while {} was committed (a master lost writes); "
                        + "reading again from {}", p.partition(), mark, offset.offset(), from);
                }
                consumer.seek(p, from);
            }
        }
    }

    /** Flushes what is buffered and completes it; false when that failed (the buffer is dropped: the caller must rewind). */
    private boolean flushQuietly() {
        try {
            flushAndComplete();
            return true;
        } catch (RuntimeException e) {
            LOG.warn("flush before losing partitions failed; what it held is read again: {}", e.toString());
            dropInFlight();
            dropBuffer();
            return false;
        }
    }

    /** Sleeps, keeping an interrupt for the caller to see. */
    static void sleepQuietly(long millis) {
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
        if (consumer != null) {
            consumer.wakeup();
        }
        if (thread != null) {
            try {
                thread.join(15_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (AutoCloseable metrics : clientMetrics) {
            try {
                metrics.close();
            } catch (Exception e) {
                LOG.debug("unbinding Kafka client metrics: {}", e.toString());
            }
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(2));
        }
    }
}
