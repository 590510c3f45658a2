package io.tally.query.persistence;

import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Factory;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.tally.results.StateReader;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;

/** The query service reads results through the shared {@link StateReader}. */
@Factory
public class StateReaderFactory {

    @Singleton
    StateReader stateReader(Provider<StatefulRedisClusterConnection<String, String>> connection,
                            @io.micronaut.context.annotation.Value("${tally.read.script-values:20000}") long scriptValues,
                            @io.micronaut.context.annotation.Value("${tally.read.max-values:200000}") long maxValues,
                            MeterRegistry meters) {
        return StateReader.observed(connection::get, new io.tally.results.RuleState.Budget(scriptValues, maxValues), meters);
    }
}
