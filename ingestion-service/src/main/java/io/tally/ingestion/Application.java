package io.tally.ingestion;

import io.micronaut.runtime.Micronaut;

/** Starts the ingestion-service. */
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
