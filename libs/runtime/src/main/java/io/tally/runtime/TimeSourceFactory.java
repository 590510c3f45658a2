package io.tally.runtime;

import io.micronaut.context.annotation.Factory;
import io.tally.model.TimeSource;
import jakarta.inject.Singleton;

/** Every service's time, as one bean: the system clocks; a test context can replace it with a manual one. */
@Factory
public class TimeSourceFactory {

    @Singleton
    TimeSource timeSource() {
        return TimeSource.SYSTEM;
    }
}
