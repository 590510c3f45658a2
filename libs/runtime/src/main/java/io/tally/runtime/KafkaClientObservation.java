package io.tally.runtime;

import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.configuration.kafka.DefaultProducerFactory;
import io.micronaut.configuration.kafka.ProducerFactory;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import io.tally.telemetry.Observed;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Puts every micronaut-kafka client on /prometheus the way the hand-built ones are ({@link Observed#kafka}, Micrometer's
 * {@code KafkaClientMetrics}): each consumer a listener gets, as it is created, and each producer behind a
 * {@code @KafkaClient}, by making them here instead of in micronaut-kafka's default producer factory. One metric naming
 * for all of the fleet's clients (micronaut-kafka's own reporter is off, see TelemetryDefaults).
 */
@Singleton
@Replaces(DefaultProducerFactory.class)
@Requires(classes = DefaultProducerFactory.class)
public class KafkaClientObservation implements ProducerFactory, BeanCreatedEventListener<Consumer<?, ?>>, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaClientObservation.class);

    private final MeterRegistry meters;
    private final List<AutoCloseable> bound = new CopyOnWriteArrayList<>();

    public KafkaClientObservation(MeterRegistry meters) {
        this.meters = meters;
    }

    @Override
    public <K, V> Producer<K, V> createProducer(Properties config, Serializer<K> keySerializer, Serializer<V> valueSerializer) {
        Producer<K, V> producer = new KafkaProducer<>(config, keySerializer, valueSerializer);
        bound.add(Observed.kafka(meters, producer));
        return producer;
    }

    @Override
    public Consumer<?, ?> onCreated(BeanCreatedEvent<Consumer<?, ?>> event) {
        bound.add(Observed.kafka(meters, event.getBean()));
        return event.getBean();
    }

    @PreDestroy
    @Override
    public void close() {
        for (AutoCloseable metrics : bound) {
            try {
                metrics.close();
            } catch (Exception e) {
                LOG.debug("unbinding Kafka client metrics: {}", e.toString());
            }
        }
    }
}
