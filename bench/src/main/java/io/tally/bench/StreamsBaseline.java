package io.tally.bench;

import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The same job in Kafka Streams, as a user would write it: exactly_once_v2, event time from the
 * record timestamps (the benchmark writes each record with its event's time), dedup by event id in a
 * logged key-value store (records are keyed by tenant and event id as Tally's ingestion writes them, so
 * duplicates share a partition and per-partition dedup is complete), and the four rules as windowed
 * aggregations: trending (count by category, one repartition), revenue (hopping 5m/1m count and sum by geo), fans (count and an EXACT distinct count
 * of users by category and geo: first sightings of (group, user) counted, two repartitions) and teams
 * (count and per-team counts for the top-k by category, one repartition). Grace: see {@link #GRACE}.
 */
final class StreamsBaseline implements AutoCloseable {

    /** A windowed aggregate: count, sum and per-value counts (teams). */
    static final class Agg {
        long count;
        double sum;
        final Map<String, Long> values = new HashMap<>();

        Agg add(Event e, String value) {
            count++;
            sum += e.value() == null ? 0 : e.value();
            if (value != null) {
                values.merge(value, 1L, Long::sum);
            }
            return this;
        }
    }

    static final Serde<Agg> AGG = Serdes.serdeFrom((Serializer<Agg>) (topic, a) -> {
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream(); DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(a.count);
            out.writeDouble(a.sum);
            out.writeInt(a.values.size());
            for (Map.Entry<String, Long> e : a.values.entrySet()) {
                out.writeUTF(e.getKey());
                out.writeLong(e.getValue());
            }
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }, (Deserializer<Agg>) (topic, data) -> {
        if (data == null) {
            return null;
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            Agg a = new Agg();
            a.count = in.readLong();
            a.sum = in.readDouble();
            int n = in.readInt();
            for (int i = 0; i < n; i++) {
                a.values.put(in.readUTF(), in.readLong());
            }
            return a;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    });

    static final Serde<Event> EVENT = Serdes.serdeFrom((Serializer<Event>) (topic, e) -> EventCodec.encode(e),
        (Deserializer<Event>) (topic, data) -> data == null ? null : EventCodec.decode(data));

    /**
     * Records are keyed by event id, so every aggregation repartitions; catching up on a backlog, a repartition
     * topic interleaves the input partitions as fast as each was read, so its records arrive out of order by far
     * more than the workload's 4 s disorder (with the rules' 10 s grace Kafka Streams dropped 85 % as late). The
     * grace covers the workload's whole event-time span instead (40 min at most), and the window stores keep
     * windows for the retention below.
     */
    private static final Duration GRACE = Duration.ofMinutes(45);
    /** Windows stay queryable as long as the rules keep them (PT2H); Kafka Streams' default is size + grace. */
    private static final Duration RETENTION = Duration.ofHours(2);

    final String applicationId;
    private final KafkaStreams streams;

    StreamsBaseline(String bootstrap, String tenant, Path stateDir) {
        this.applicationId = "kstreams-baseline-" + tenant;
        StreamsBuilder builder = new StreamsBuilder();
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("seen"), Serdes.String(), Serdes.Long()));
        KStream<String, Event> events = builder.stream(Topics.EVENTS, Consumed.with(Serdes.String(), EVENT))
            .filter((k, e) -> e != null && tenant.equals(e.tenant()))
            .processValues(() -> new FixedKeyProcessor<String, Event, Event>() {
                private FixedKeyProcessorContext<String, Event> context;
                private KeyValueStore<String, Long> seen;

                @Override
                public void init(FixedKeyProcessorContext<String, Event> context) {
                    this.context = context;
                    this.seen = context.getStateStore("seen");
                }

                @Override
                public void process(FixedKeyRecord<String, Event> record) {
                    if (seen.putIfAbsent(record.value().id(), record.timestamp()) == null) {
                        context.forward(record);
                    }
                }
            }, "seen");

        // Records are keyed by event id (as Tally's ingestion writes them): counting by category repartitions.
        events.groupBy((k, e) -> e.tenant() + ":" + e.category(), Grouped.with("by-category", Serdes.String(), EVENT))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), GRACE))
            .aggregate(Agg::new, (k, e, a) -> a.add(e, null), Materialized.<String, Agg, WindowStore<Bytes, byte[]>>as("trending").withRetention(RETENTION)
                .withKeySerde(Serdes.String()).withValueSerde(AGG));
        events.groupBy((k, e) -> e.geo(), Grouped.with("by-geo", Serdes.String(), EVENT))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(5), GRACE).advanceBy(Duration.ofMinutes(1)))
            .aggregate(Agg::new, (k, e, a) -> a.add(e, null), Materialized.<String, Agg, WindowStore<Bytes, byte[]>>as("revenue").withRetention(RETENTION)
                .withKeySerde(Serdes.String()).withValueSerde(AGG));
        KStream<String, Event> byGroup = events.selectKey((k, e) -> e.category() + "|" + e.geo());
        byGroup.groupByKey(Grouped.with("by-category-geo", Serdes.String(), EVENT))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), GRACE))
            .aggregate(Agg::new, (k, e, a) -> a.add(e, null), Materialized.<String, Agg, WindowStore<Bytes, byte[]>>as("fans").withRetention(RETENTION)
                .withKeySerde(Serdes.String()).withValueSerde(AGG));
        // Exact distinct users: count the first sighting of each (group, user) per window.
        byGroup.groupBy((k, e) -> k + "|" + e.attributes().get("user"), Grouped.with("by-group-user", Serdes.String(), EVENT))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), GRACE))
            .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("group-user").withRetention(RETENTION).withCachingDisabled())
            .toStream()
            .filter((w, n) -> n != null && n == 1L)
            .map((w, n) -> KeyValue.pair(w.key().substring(0, w.key().lastIndexOf('|')), w.window().start()))
            .groupByKey(Grouped.with("first-sightings", Serdes.String(), Serdes.Long()))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), GRACE))
            .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("distinct-users").withRetention(RETENTION));
        events.filter((k, e) -> e.category().matches("c[0-4]"))
            .groupBy((k, e) -> e.tenant() + ":" + e.category(), Grouped.with("teams-by-category", Serdes.String(), EVENT))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), GRACE))
            .aggregate(Agg::new, (k, e, a) -> a.add(e, String.valueOf(e.attributes().get("team"))),
                Materialized.<String, Agg, WindowStore<Bytes, byte[]>>as("teams").withRetention(RETENTION).withKeySerde(Serdes.String()).withValueSerde(AGG));

        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 2);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
        this.streams = new KafkaStreams(builder.build(), props);
    }

    void start() {
        streams.start();
    }

    /** The sum of the trending counts (every unique event once), read from the job's own store. */
    long countedByTrending() {
        ReadOnlyWindowStore<String, Agg> store = streams.store(StoreQueryParameters.fromNameAndType("trending", QueryableStoreTypes.windowStore()));
        long total = 0;
        try (KeyValueIterator<Windowed<String>, Agg> all = store.fetchAll(Instant.EPOCH, TimeSource.SYSTEM.instant().plus(Duration.ofDays(1)))) {
            while (all.hasNext()) {
                total += all.next().value.count;
            }
        }
        return total;
    }

    @Override
    public void close() {
        streams.close(Duration.ofSeconds(10));
        streams.cleanUp();
    }
}
