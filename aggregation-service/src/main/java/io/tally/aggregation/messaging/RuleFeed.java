package io.tally.aggregation.messaging;

import io.tally.model.TimeSource;
import io.micronaut.context.annotation.Value;
import io.micronaut.serde.ObjectMapper;
import io.tally.aggregation.domain.ActiveRules;
import io.tally.aggregation.domain.CompiledRule;
import io.tally.model.RuleAck;
import io.tally.model.RuleFailure;
import io.tally.model.RuleRecord;
import io.tally.model.Topics;
import io.tally.rules.catalog.RuleCatalog;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Map;

/**
 * Keeps {@link ActiveRules} current from {@code tally.rules} and acknowledges what this instance has
 * applied on {@code tally.rule-acks}: right after each change and then every second, the catalog's
 * position per rules partition ("every rule version below these offsets is live here"). The rules
 * service turns a version into {@code active} once every live instance's position has passed it; the
 * periodic ack doubles as the liveness signal.
 */
@Singleton
public class RuleFeed implements AutoCloseable {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RuleFeed.class);

    private final RuleCatalog catalog;
    private final ActiveRules active = new ActiveRules();
    private final KafkaProducer<String, String> acks;
    private final String instance;
    private final ObjectMapper json;
    private final TimeSource time;
    private final java.util.concurrent.ScheduledExecutorService ticker =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("rule-acks").daemon().factory());

    public RuleFeed(@Value("${kafka.bootstrap.servers}") String bootstrap, ObjectMapper json, TimeSource time) {
        this.time = time;
        this.instance = ManagementFactory.getRuntimeMXBean().getName();
        this.json = json;
        this.acks = new KafkaProducer<>(io.tally.model.KafkaClients.with(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ProducerConfig.CLIENT_ID_CONFIG, "aggregation-rule-acks", ProducerConfig.LINGER_MS_CONFIG, 5,
            ProducerConfig.MAX_BLOCK_MS_CONFIG, 5000)),
            new StringSerializer(), new StringSerializer());
        this.catalog = new RuleCatalog(bootstrap, "aggregation-service", bytes -> {
            try {
                return json.readValue(bytes, RuleRecord.class);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        catalog.addListener(change -> {
            active.apply(change.tenant(), change.id(), change.rule());
            // The catalog moves its positions after the listeners ran; ack (or report the failure) just after that.
            ticker.schedule(this::acknowledge, 250, java.util.concurrent.TimeUnit.MILLISECONDS);
        });
        catalog.start();
        ticker.scheduleWithFixedDelay(this::acknowledge, 1, 1, java.util.concurrent.TimeUnit.SECONDS);
    }

    private void acknowledge() {
        try {
            Map<Integer, Long> positions = catalog.positions();
            if (!positions.isEmpty()) {
                List<RuleFailure> failed = active.failures();
                send(new RuleAck(instance, time.instant(), positions, catalog.all().size(), null, failed.isEmpty() ? null : failed));
            }
        } catch (RuntimeException e) {
            LOG.warn("could not acknowledge applied rules on {}: {}", Topics.RULE_ACKS, e.toString());
        }
    }

    private void send(RuleAck ack) {
        try {
            acks.send(new ProducerRecord<>(Topics.RULE_ACKS, instance, json.writeValueAsString(ack)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public ActiveRules active() {
        return active;
    }

    public RuleCatalog catalog() {
        return catalog;
    }

    @PreDestroy
    @Override
    public void close() {
        ticker.shutdownNow();
        // Say goodbye so rule versions do not wait for an instance that is gone.
        send(new RuleAck(instance, time.instant(), null, null, true));
        catalog.close();
        acks.close(java.time.Duration.ofSeconds(2));
    }
}
