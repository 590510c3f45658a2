package io.tally.runtime;

import io.micronaut.configuration.kafka.seek.KafkaSeekOperation;
import io.micronaut.configuration.kafka.seek.KafkaSeeker;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Where a listener that reads every partition of a topic for itself (a consumer group of its own, nothing
 * committed) reads from: on a partition's first assignment, the first record at or after a point in time (the end
 * when there is none); after a rebalance hands it back, right after the last record it took — never the same
 * record twice, none skipped. For a {@code ConsumerSeekAware} listener: {@link #assigned} from
 * {@code onPartitionsAssigned}, {@link #took} for each record.
 */
public final class ReadFromTime {

    private final LongSupplier sinceMillis;
    private final Map<TopicPartition, Long> next = new ConcurrentHashMap<>();

    /** @param sinceMillis the point in time to start from, asked on each first assignment */
    public ReadFromTime(LongSupplier sinceMillis) {
        this.sinceMillis = sinceMillis;
    }

    public void assigned(Collection<TopicPartition> partitions, KafkaSeeker seeker) {
        for (TopicPartition partition : partitions) {
            Long at = next.get(partition);
            seeker.perform(at == null ? KafkaSeekOperation.seekToTimestamp(partition, sinceMillis.getAsLong())
                : KafkaSeekOperation.seek(partition, at));
        }
    }

    public void took(ConsumerRecord<?, ?> record) {
        next.put(new TopicPartition(record.topic(), record.partition()), record.offset() + 1);
    }

    /** Partitions read from so far. */
    public int partitions() {
        return next.size();
    }
}
