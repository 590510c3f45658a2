package io.tally.rules.config;

import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Value;
import io.tally.internal.Loopback;

/**
 * The local stack's PostgreSQL password ({@code postgres}) is a default for loopback only: a rules service
 * listening on any other address refuses to start with it (or with none) and says what to set.
 */
@Context
public class DatabaseCredentials {

    static final String DEVELOPMENT_PASSWORD = "postgres";

    public DatabaseCredentials(@Value("${micronaut.server.host:127.0.0.1}") String bindHost,
                               @Value("${datasources.default.password:}") String password) {
        check(bindHost, password);
    }

    static void check(String bindHost, String password) {
        if (!Loopback.is(bindHost) && (password == null || password.isEmpty() || password.equals(DEVELOPMENT_PASSWORD))) {
            throw new IllegalStateException("the rules service listens on " + bindHost + " but TALLY_POSTGRES_PASSWORD is "
                + (password == null || password.isEmpty() ? "not set" : "the local stack's default") + ". Set TALLY_POSTGRES_USER and "
                + "TALLY_POSTGRES_PASSWORD to the credentials of a PostgreSQL role of your own.");
        }
    }
}
