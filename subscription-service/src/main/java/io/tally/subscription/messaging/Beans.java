package io.tally.subscription.messaging;

import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleRecord;
import io.tally.model.WindowUpdate;
import io.tally.results.ResultAssembler;
import io.tally.results.ResultWindow;
import io.tally.results.StateReader;
import io.tally.rules.catalog.RuleCatalog;
import io.tally.subscription.api.Flusher;
import io.tally.subscription.config.SubscriptionConfig;
import io.tally.subscription.domain.Fanout;
import io.tally.subscription.domain.RuleStream;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

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
    Fanout fanout(SubscriptionConfig config, Flusher flusher, ObjectMapper json) {
        long history = config.history().toMillis();
        long gap = config.gapWait().toMillis();
        return new Fanout(rule -> new RuleStream(config.historySize(), history, gap), history, (window, filter) -> render(json, window, filter),
            flusher::markDirty, System::currentTimeMillis);
    }

    /** A changed window as the contract shows it; a window that just changed is never final. */
    static String render(ObjectMapper json, WindowUpdate window, java.util.Map<String, String> filter) {
        List<ResultWindow.Group> groups = window.groups().stream()
            .filter(g -> filter.isEmpty() || ResultAssembler.matches(g.group(), filter))
            .map(g -> new ResultWindow.Group(g.group(), g.values())).toList();
        if (groups.isEmpty()) {
            return null;
        }
        try {
            return json.writeValueAsString(new ResultWindow(ResultWindow.iso(window.windowStart()), ResultWindow.iso(window.windowEnd()), false, groups));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
