package io.tally.subscription.messaging;

import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Value;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.KafkaClients;
import io.tally.model.Topics;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The live event tail ({@code {"op":"tail"}} on the subscription socket): while at least one socket of this instance
 * follows one, a consumer of its own (no group, nothing committed) reads every partition of {@code tally.events} from
 * its end and hands each tenant's records to that tenant's tails; with none left it stops and reads nothing. Each
 * tail sends at most {@value #PER_MESSAGE} events every {@value #FLUSH_MILLIS} ms and counts the rest as
 * {@code skipped}: a busy tenant's tail is a sample, never a backlog.
 */
@Singleton
public class TailFeed implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TailFeed.class);

    static final int PER_MESSAGE = 25;
    static final long FLUSH_MILLIS = 250;

    /** One socket's tail: events waiting for the next message, and how many did not fit. */
    public static final class Tail {
        private final String id;
        private final Consumer<String> send;
        private final List<Map<String, Object>> pending = new ArrayList<>();
        private long skipped;
        /** The reader is at the log's end for it: every event from now on reaches it. */
        private volatile boolean following;
        private boolean announced;

        public Tail(String id, Consumer<String> send) {
            this.id = id;
            this.send = send;
        }

        synchronized void offer(Map<String, Object> event) {
            if (pending.size() < PER_MESSAGE) {
                pending.add(event);
            } else {
                skipped++;
            }
        }

        /** {@code {"type":"tailing","id"}} once the tail follows the log's end (then its events), else null. */
        synchronized Map<String, Object> announcement() {
            if (!following || announced) {
                return null;
            }
            announced = true;
            return Map.of("type", "tailing", "id", id);
        }

        /** The next {@code events} message, or null when nothing arrived since the last. */
        synchronized Map<String, Object> drain() {
            if (pending.isEmpty() && skipped == 0) {
                return null;
            }
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("type", "events");
            message.put("id", id);
            message.put("events", List.copyOf(pending));
            message.put("skipped", skipped);
            pending.clear();
            skipped = 0;
            return message;
        }
    }

    private final String bootstrap;
    private final ObjectMapper json;
    private final MeterRegistry meters;
    private final Map<String, Set<Tail>> byTenant = new ConcurrentHashMap<>();
    private final ScheduledExecutorService flusher =
        Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("tail-flush").daemon().factory());
    private Thread reader;
    /** The reader is positioned at the end of every partition. */
    private boolean positioned;
    private volatile boolean closed;

    public TailFeed(@Value("${kafka.bootstrap.servers}") String bootstrap, ObjectMapper json, MeterRegistry meters) {
        this.bootstrap = bootstrap;
        this.json = json;
        this.meters = meters;
        meters.gauge("tally.subscriptions.tails", byTenant, m -> m.values().stream().mapToInt(Set::size).sum());
        flusher.scheduleWithFixedDelay(this::flush, FLUSH_MILLIS, FLUSH_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Starts following {@code tenant}'s events for {@code tail}. */
    public synchronized void add(String tenant, Tail tail) {
        byTenant.computeIfAbsent(tenant, t -> ConcurrentHashMap.newKeySet()).add(tail);
        tail.following = positioned;
        if (reader == null && !closed) {
            reader = Thread.ofPlatform().name("tail-reader").daemon().start(this::read);
        }
    }

    public synchronized void remove(String tenant, Tail tail) {
        byTenant.computeIfPresent(tenant, (t, tails) -> {
            tails.remove(tail);
            return tails.isEmpty() ? null : tails;
        });
    }

    /** Whether the reader should stop: nobody follows anything (it is then gone, and the next add starts one). */
    private synchronized boolean done() {
        if (byTenant.isEmpty() || closed) {
            reader = null;
            positioned = false;
            return true;
        }
        return false;
    }

    /** The reader is at the end of every partition: the tails follow from here. */
    private synchronized void positioned() {
        positioned = true;
        byTenant.values().forEach(tails -> tails.forEach(t -> t.following = true));
    }

    /** Reads while anybody follows a tail; a failure (the broker away) is retried every few seconds meanwhile. */
    private void read() {
        while (!done()) {
            try {
                readUntilDoneOrFailed();
            } catch (RuntimeException e) {
                synchronized (this) {
                    positioned = false;
                }
                LOG.warn("Event tail: reading {} failed ({}); trying again in {} s", Topics.EVENTS, e.toString(), RETRY.toSeconds());
                try {
                    Thread.sleep(RETRY);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    synchronized (this) {
                        reader = null;
                    }
                    return;
                }
            }
        }
        LOG.info("Event tail: nobody follows events any more; stopped reading {}", Topics.EVENTS);
    }

    private static final Duration RETRY = Duration.ofSeconds(3);

    private void readUntilDoneOrFailed() {
        Map<String, Object> settings = KafkaClients.with(Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ConsumerConfig.CLIENT_ID_CONFIG, "subscription-tail",
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000,
            ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100,
            ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
            ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class));
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(settings)) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(Topics.EVENTS, Duration.ofSeconds(10))) {
                partitions.add(new TopicPartition(p.topic(), p.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position); // resolves the end now, not at the first poll
            positioned();
            LOG.info("Event tail: reading the end of {} ({} partitions) for {} tenant(s)", Topics.EVENTS, partitions.size(), byTenant.size());
            while (!stopping()) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    deliver(record);
                }
            }
        }
    }

    /** Whether nobody follows a tail any more (the next {@link #done()} then ends the reader). */
    private boolean stopping() {
        return byTenant.isEmpty() || closed;
    }

    private void deliver(ConsumerRecord<byte[], byte[]> record) {
        if (record.key() == null || record.value() == null) {
            return;
        }
        String key = new String(record.key(), StandardCharsets.UTF_8);
        int colon = key.indexOf(':');
        Set<Tail> tails = colon <= 0 ? null : byTenant.get(key.substring(0, colon));
        if (tails == null) {
            return;
        }
        Map<String, Object> event;
        try {
            event = render(EventCodec.decode(record.value()), record.timestamp());
        } catch (RuntimeException e) {
            return; // not an event this version reads
        }
        for (Tail tail : tails) {
            tail.offer(event);
        }
    }

    /** An event as producers wrote it (the contract's event shape), plus when the log took it. */
    static Map<String, Object> render(Event e, long loggedAt) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", e.id());
        out.put("category", e.category());
        out.put("time", Instant.ofEpochMilli(e.timeMillis()).toString());
        putIfSet(out, "type", e.type());
        putIfSet(out, "geo", e.geo());
        putIfSet(out, "value", e.value());
        if (!e.attributes().isEmpty()) {
            out.put("attributes", e.attributes());
        }
        putIfSet(out, "source", e.source());
        out.put("loggedAt", Instant.ofEpochMilli(loggedAt).toString());
        return out;
    }

    private static void putIfSet(Map<String, Object> out, String key, Object value) {
        if (value != null) {
            out.put(key, value);
        }
    }

    private void flush() {
        for (Set<Tail> tails : byTenant.values()) {
            for (Tail tail : tails) {
                Map<String, Object> hello = tail.announcement();
                if (hello != null) {
                    send(tail, hello);
                }
                Map<String, Object> message = tail.drain();
                if (message != null) {
                    send(tail, message);
                }
            }
        }
    }

    private void send(Tail tail, Map<String, Object> message) {
        try {
            tail.send.accept(json.writeValueAsString(message));
            meters.counter("tally.subscriptions.tail.messages").increment();
        } catch (IOException | RuntimeException e) {
            LOG.debug("Event tail: a message could not be sent: {}", e.toString());
        }
    }

    @PreDestroy
    @Override
    public void close() {
        closed = true;
        flusher.shutdownNow();
    }
}
