package io.tally.aggregation.messaging;

import io.micronaut.context.annotation.Value;
import io.micronaut.serde.ObjectMapper;
import io.tally.aggregation.domain.ActiveRules;
import io.tally.aggregation.domain.CompiledRule;
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
import java.time.Instant;
import java.util.Map;

/**
 * Keeps {@link ActiveRules} current from {@code tally.rules} and acknowledges each rule version this
 * instance applies on {@code tally.rule-acks} (the rules service turns them into pending → active).
 */
@Singleton
public class RuleFeed implements AutoCloseable {

    private final RuleCatalog catalog;
    private final ActiveRules active = new ActiveRules();
    private final KafkaProducer<String, String> acks;
    private final String instance;

    public RuleFeed(@Value("${kafka.bootstrap.servers}") String bootstrap, ObjectMapper json) {
        this.instance = ManagementFactory.getRuntimeMXBean().getName();
        this.acks = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ProducerConfig.CLIENT_ID_CONFIG, "aggregation-rule-acks", ProducerConfig.LINGER_MS_CONFIG, 5),
            new StringSerializer(), new StringSerializer());
        this.catalog = new RuleCatalog(bootstrap, "aggregation-service", bytes -> {
            try {
                return json.readValue(bytes, RuleRecord.class);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        catalog.addListener(change -> {
            CompiledRule compiled = active.apply(change.tenant(), change.id(), change.rule());
            if (compiled != null) {
                acknowledge(compiled);
            }
        });
        catalog.start();
    }

    private void acknowledge(CompiledRule rule) {
        String ack = "{\"tenant\":\"" + rule.tenant() + "\",\"ruleId\":\"" + rule.id() + "\",\"version\":" + rule.version()
            + ",\"instance\":\"" + instance.replace("\"", "") + "\",\"at\":\"" + Instant.now() + "\"}";
        acks.send(new ProducerRecord<>(Topics.RULE_ACKS, RuleRecord.key(rule.tenant(), rule.id()), ack));
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
        catalog.close();
        acks.close(java.time.Duration.ofSeconds(2));
    }
}
