package io.tally.subscription.messaging;

import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import io.micronaut.serde.ObjectMapper;
import io.opentelemetry.api.OpenTelemetry;
import io.tally.model.RuleRecord;
import io.tally.model.TimeSource;
import io.tally.results.RuleState;
import io.tally.results.StateReader;
import io.tally.rule.RuleSpec;
import io.tally.rules.catalog.RuleCatalog;
import io.tally.subscription.api.Flusher;
import io.tally.subscription.api.WindowRenderer;
import io.tally.subscription.config.SubscriptionConfig;
import io.tally.subscription.domain.Fanout;
import io.tally.subscription.domain.Subscription;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;

/** The subscription service's collaborators: the rule catalog, the state reader and the fan-out. */
@Factory
public class Beans {

    /** Eager: reading every rule starts with the service, not with the first subscription. */
    @Context
    @Bean(preDestroy = "close")
    RuleCatalog ruleCatalog(@Value("${kafka.bootstrap.servers}") String bootstrap, ObjectMapper json) {
        return new RuleCatalog(bootstrap, "subscription-service", bytes -> json.readValue(bytes, RuleRecord.class)).start();
    }

    @Singleton
    StateReader stateReader(Provider<StatefulRedisClusterConnection<String, String>> connection,
                            @Value("${tally.read.script-values:20000}") long scriptValues,
                            @Value("${tally.read.max-values:200000}") long maxValues,
                            MeterRegistry meters) {
        return StateReader.observed(connection::get, new RuleState.Budget(scriptValues, maxValues), meters);
    }

    @Singleton
    @Bean(preDestroy = "close")
    Fanout fanout(SubscriptionConfig config, Flusher flusher, RuleCatalog catalog, StateReader reader, WindowRenderer renderer,
                  MeterRegistry meters, OpenTelemetry telemetry, TimeSource time) {
        Fanout.Source source = (tenant, ruleId, starts) -> {
            Optional<RuleRecord> record = catalog.serving(tenant, ruleId);
            if (record.isEmpty()) {
                return null;
            }
            RuleSpec rule = RuleSpec.of(record.get());
            return new StoredRead(rule, reader.read(rule, starts), renderer);
        };
        // Each watched rule's reader runs on a virtual thread of its own while it has changes to read.
        var readers = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("rule-reader-", 0).factory());
        return new Fanout(source, readers, config.history().toMillis(), config.historySize(), 1000, flusher::markDirty, time::millis)
            .observedBy(new PushTelemetry(meters, telemetry, time));
    }

    /** Windows read from the state store for the fan-out. */
    private record StoredRead(RuleSpec rule, StateReader.Snapshot read, WindowRenderer renderer) implements Fanout.Read {

        @Override
        public long seq() {
            return read.seq();
        }

        @Override
        public int ruleVersion() {
            return rule.version();
        }

        @Override
        public List<Subscription.Rendered> render(Map<String, String> filter) {
            return renderer.render(rule, read, filter);
        }
    }
}
