package io.tally.rules.messaging;

import io.github.resilience4j.core.IntervalFunction;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Context;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleRecord;
import io.tally.model.Topics;
import io.tally.rules.config.RulesConfig;
import io.tally.rules.persistence.Database;
import io.tally.rules.persistence.RuleStore;
import jakarta.annotation.PreDestroy;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Publishes the outbox to {@code tally.rules}, oldest row first, then marks the rows published.
 *
 * <p>Ordering: one relay at a time across all replicas, by a PostgreSQL advisory lock held for the length of
 * each relay transaction ({@code pg_try_advisory_xact_lock}); a replica that does not get it just waits for
 * the next round. A change locks its rule's row before appending its outbox row, so one rule's rows get rising
 * {@code seq} in commit order, and the single relay sends them in {@code seq} order with an idempotent,
 * one-in-flight producer: one rule's versions reach Kafka in order. We chose the lock over
 * {@code FOR UPDATE SKIP LOCKED} because rule changes are rare and per-rule ordering then needs no more thought.
 *
 * <p>Failure: Kafka down → the transaction rolls back, rows stay unpublished, the API keeps answering and the
 * relay retries with backoff. A crash between send and mark → the rows are sent again; consumers ignore versions
 * they already hold (and a tombstone names the version it deletes).
 */
@Context
public class OutboxRelay implements RuleStore.OutboxListener, AutoCloseable {

    /** Between failed rounds: 500 ms doubling to 5 s, each ±50 %, from resilience4j. */
    private static final IntervalFunction BACKOFF = IntervalFunction.ofExponentialRandomBackoff(Duration.ofMillis(500), 2.0, 0.5, Duration.ofSeconds(5));

    private static final Logger LOG = LoggerFactory.getLogger(OutboxRelay.class);
    /** Advisory lock key of "the relay" (any constant all replicas agree on). */
    static final long RELAY_LOCK = 0x7A11_0B0CL;
    /** Header with the outbox row id, for consumers that want to drop exact re-sends. */
    public static final String OUTBOX_ID_HEADER = "tally-outbox-id";

    private final Database db;
    private final ObjectMapper json;
    private final RulesConfig config;
    private final RulesTopic topic;
    private final Thread thread;
    private final AtomicLong pending = new AtomicLong();
    private final MeterRegistry meters;
    private volatile boolean running = true;
    private volatile boolean kafkaDown;
    private int batchesSent;

    public OutboxRelay(Database db, ObjectMapper json, RulesConfig config, MeterRegistry meters, RulesTopic topic) {
        this.db = db;
        this.json = json;
        this.config = config;
        this.meters = meters;
        this.topic = topic;
        meters.gauge("tally.outbox.pending", pending);
        this.thread = Thread.ofPlatform().name("outbox-relay").daemon().start(this::run);
    }

    @Override
    public void outboxAppended() {
        LockSupport.unpark(thread);
    }

    /** Unpublished outbox rows seen at the last round. */
    public long pending() {
        return pending.get();
    }

    private void run() {
        int failures = 0;
        while (running) {
            try {
                int published = relayOnce();
                if (kafkaDown && published >= 0) {
                    LOG.info("outbox relay: relaying to {} again", Topics.RULES);
                    kafkaDown = false;
                }
                failures = 0;
                if (published == config.relayBatch()) {
                    continue; // more waiting
                }
                LockSupport.parkNanos(config.relayInterval().toNanos());
            } catch (RuntimeException e) {
                long backoffMillis = BACKOFF.apply(++failures);
                if (!kafkaDown) {
                    LOG.warn("outbox relay: a round failed ({}); {} rows wait for {}, retrying every ≤5 s. Rule changes are still accepted.",
                        rootMessage(e), pending.get(), Topics.RULES);
                    kafkaDown = true;
                }
                meters.counter("tally.outbox.relay.failures").increment();
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(backoffMillis));
            }
        }
    }

    /** Rows published this round, or -1 when another replica is relaying right now. */
    int relayOnce() {
        return db.write(status -> {
            Connection c = status.getConnection();
            try (PreparedStatement lock = c.prepareStatement("SELECT pg_try_advisory_xact_lock(?)")) {
                lock.setLong(1, RELAY_LOCK);
                try (ResultSet rs = lock.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        return -1;
                    }
                }
            }
            pending.set(countPending(c));
            List<Row> rows = unpublished(c);
            if (rows.isEmpty()) {
                return 0;
            }
            List<Future<RecordMetadata>> sent = new ArrayList<>(rows.size());
            for (Row row : rows) {
                sent.add(send(row));
            }
            List<RecordMetadata> acked = new ArrayList<>(rows.size());
            for (Future<RecordMetadata> f : sent) {
                acked.add(f.get(15, TimeUnit.SECONDS));
            }
            if (config.haltAfterSend() > 0 && ++batchesSent >= config.haltAfterSend()) {
                LOG.warn("fault injection: halting between send and mark ({} rows sent, none marked)", rows.size());
                Runtime.getRuntime().halt(137);
            }
            markPublished(c, rows, acked);
            pending.addAndGet(-rows.size());
            meters.counter("tally.outbox.published").increment(rows.size());
            return rows.size();
        });
    }

    private record Row(long seq, String id, String aggregateId, String type, String payload) {
    }

    private List<Row> unpublished(Connection c) throws SQLException {
        List<Row> rows = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT seq, id, aggregate_id, type, payload::text FROM outbox"
            + " WHERE published_at IS NULL ORDER BY seq LIMIT ? FOR UPDATE")) {
            ps.setInt(1, config.relayBatch());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new Row(rs.getLong(1), rs.getObject(2).toString(), rs.getString(3), rs.getString(4), rs.getString(5)));
                }
            }
        }
        return rows;
    }

    private static long countPending(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM outbox WHERE published_at IS NULL");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private CompletableFuture<RecordMetadata> send(Row row) throws IOException {
        boolean delete = "RuleDeleted".equals(row.type());
        Headers headers = new RecordHeaders();
        headers.add(OUTBOX_ID_HEADER, row.id().getBytes(StandardCharsets.UTF_8));
        if (delete) {
            Map<?, ?> payload = json.readValue(row.payload(), Map.class);
            headers.add(RuleRecord.DELETED_VERSION_HEADER,
                String.valueOf(((Number) payload.get("deletedVersion")).intValue()).getBytes(StandardCharsets.UTF_8));
        }
        return topic.publish(row.aggregateId(), delete ? null : row.payload(), headers);
    }

    private void markPublished(Connection c, List<Row> rows, List<RecordMetadata> acked) throws SQLException, IOException {
        try (PreparedStatement outbox = c.prepareStatement(
                 "UPDATE outbox SET published_at = now(), kafka_partition = ?, kafka_offset = ? WHERE seq = ?");
             PreparedStatement rules = c.prepareStatement(
                 "UPDATE rules SET published_partition = ?, published_offset = ? WHERE tenant = ? AND id = ?::uuid AND version = ?")) {
            for (int i = 0; i < rows.size(); i++) {
                Row row = rows.get(i);
                RecordMetadata meta = acked.get(i);
                outbox.setInt(1, meta.partition());
                outbox.setLong(2, meta.offset());
                outbox.setLong(3, row.seq());
                outbox.addBatch();
                if (!"RuleDeleted".equals(row.type())) {
                    RuleRecord rule = json.readValue(row.payload(), RuleRecord.class);
                    rules.setInt(1, meta.partition());
                    rules.setLong(2, meta.offset());
                    rules.setString(3, rule.tenant());
                    rules.setString(4, rule.id());
                    rules.setInt(5, rule.version());
                    rules.addBatch();
                }
            }
            outbox.executeBatch();
            rules.executeBatch();
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }

    @PreDestroy
    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
