package io.tally.subscription;

import io.micronaut.runtime.Micronaut;

/** Starts the subscription-service. */
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
