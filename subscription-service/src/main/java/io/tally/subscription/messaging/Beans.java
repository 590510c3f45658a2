package io.tally.subscription.messaging;

import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleRecord;
import io.tally.results.ResultAssembler;
import io.tally.results.ResultWindow;
import io.tally.results.StateReader;
import io.tally.rules.catalog.RuleCatalog;
import io.tally.subscription.api.Flusher;
import io.tally.subscription.config.SubscriptionConfig;
import io.tally.subscription.domain.Fanout;
import io.tally.subscription.domain.Subscription;
import io.tally.results.RawWindow;
import io.tally.results.RuleView;
import io.micronaut.core.type.Argument;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The subscription service's collaborators: the rule catalog, the state reader and the fan-out. */
@Factory
public class Beans {

    /** Eager: reading every rule starts with the service, not with the first subscription. */
    @Context
    @Bean(preDestroy = "close")
    RuleCatalog ruleCatalog(@Value("${kafka.bootstrap.servers}") String bootstrap, ObjectMapper json) {
        return new RuleCatalog(bootstrap, "subscription-service", bytes -> {
            try {
                return json.readValue(bytes, RuleRecord.class);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).start();
    }

    @Singleton
    StateReader stateReader(Provider<StatefulRedisClusterConnection<String, String>> connection) {
        return new StateReader(connection::get);
    }

    @Singleton
    @Bean(preDestroy = "close")
    Fanout fanout(SubscriptionConfig config, Flusher flusher, RuleCatalog catalog, StateReader reader, ObjectMapper json) {
        ResultAssembler assembler = new ResultAssembler(text -> read(json, text, Argument.listOf(Object.class)),
            text -> read(json, text, Argument.OBJECT_ARGUMENT));
        Fanout.Source source = (tenant, ruleId, starts) -> {
            Optional<RuleRecord> record = catalog.get(tenant, ruleId);
            if (record.isEmpty()) {
                return null;
            }
            RuleView rule = RuleView.of(record.get());
            StateReader.Snapshot read = reader.read(rule, starts);
            return new Fanout.Read() {
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
                    List<Subscription.Rendered> windows = new ArrayList<>();
                    for (RawWindow raw : read.windows()) {
                        ResultWindow window = ResultWindow.of(assembler, rule, raw, filter, read.watermark());
                        if (window != null) {
                            windows.add(new Subscription.Rendered(raw.start(), write(json, window)));
                        }
                    }
                    return windows;
                }
            };
        };
        // Each watched rule's reader runs on a virtual thread of its own while it has changes to read.
        var readers = java.util.concurrent.Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("rule-reader-", 0).factory());
        return new Fanout(source, readers, config.history().toMillis(), config.historySize(), 1000, flusher::markDirty, System::currentTimeMillis);
    }

    private static <T> T read(ObjectMapper json, String text, Argument<T> type) {
        try {
            return json.readValue(text, type);
        } catch (IOException e) {
            throw new IllegalStateException("unreadable stored value", e);
        }
    }

    private static String write(ObjectMapper json, Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
