package io.tally.query.persistence;

import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import io.tally.results.RuleState;
import io.tally.results.StateReader;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;

/** The query service reads results through the shared {@link StateReader}. */
@Factory
public class StateReaderFactory {

    @Singleton
    StateReader stateReader(Provider<StatefulRedisClusterConnection<String, String>> connection,
                            @Value("${tally.read.script-values:20000}") long scriptValues,
                            @Value("${tally.read.max-values:200000}") long maxValues,
                            MeterRegistry meters) {
        return StateReader.observed(connection::get, new RuleState.Budget(scriptValues, maxValues), meters);
    }
}
