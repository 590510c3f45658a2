package io.tally.gateway;

import io.micronaut.runtime.Micronaut;

/** Starts the api-gateway. */
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
