package io.tally.query.persistence;

import io.micronaut.context.annotation.Factory;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.tally.results.StateReader;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;

/** The query service reads results through the shared {@link StateReader}. */
@Factory
public class StateReaderFactory {

    @Singleton
    StateReader stateReader(Provider<StatefulRedisClusterConnection<String, String>> connection) {
        return new StateReader(connection::get);
    }
}
