package io.tally.aggregation;

import io.micronaut.runtime.Micronaut;

/** Starts the aggregation-service. */
public final class Application {

    private Application() {
    }

    public static void main(String[] args) {
        Micronaut.build(args)
            .banner(false)
            .mainClass(Application.class)
            .start();
    }
}
