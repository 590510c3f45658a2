package io.tally.rules.persistence;

import io.micronaut.transaction.TransactionCallback;
import io.micronaut.transaction.TransactionOperations;
import io.micronaut.transaction.exceptions.CannotCreateTransactionException;
import io.micronaut.transaction.exceptions.TransactionSystemException;
import jakarta.inject.Singleton;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientException;

/**
 * Runs a unit of work in one PostgreSQL transaction (micronaut-data's JDBC transaction manager) and turns
 * "the database is away" into {@link StoreUnavailable}, which the API answers with 503 + Retry-After.
 * The service uses no micronaut-data repositories: its three tables are written by {@link DefinitionTable} and
 * {@link Outbox} with conditional SQL (a replace only where the version still matches, the outbox row in the same
 * transaction, {@code RETURNING} what the API answers) that a repository would only wrap in {@code @Query} strings.
 */
@Singleton
public class Database {

    private final TransactionOperations<Connection> tx;

    public Database(TransactionOperations<Connection> tx) {
        this.tx = tx;
    }

    /**
     * Runs {@code work} in a write transaction. A checked exception of the work (the transaction manager rethrows it as it
     * is, undeclared) comes out wrapped in an {@link IllegalStateException}, so callers that catch runtime exceptions (the
     * outbox relay's loop) see every failure.
     */
    public <R> R write(TransactionCallback<Connection, R> work) {
        try {
            return tx.executeWrite(work);
        } catch (Exception e) {
            throw translate(e);
        }
    }

    public <R> R read(TransactionCallback<Connection, R> work) {
        try {
            return tx.executeRead(work);
        } catch (Exception e) {
            throw translate(e);
        }
    }

    private static RuntimeException translate(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof VersionConflict || t instanceof StoreUnavailable) {
                return (RuntimeException) t;
            }
            if (t instanceof SQLException sql && isUnavailable(sql)) {
                return new StoreUnavailable("PostgreSQL is unavailable: " + sql.getMessage(), e);
            }
            if (t instanceof CannotCreateTransactionException
                || t instanceof TransactionSystemException) {
                return new StoreUnavailable("PostgreSQL is unavailable: " + t.getMessage(), e);
            }
        }
        return e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
    }

    /** Connection failures, shutdowns, resource exhaustion, timeouts and serialization conflicts: retryable. */
    static boolean isUnavailable(SQLException e) {
        String state = e.getSQLState();
        return e instanceof SQLTransientException
            || state == null
            || state.startsWith("08") || state.startsWith("57") || state.startsWith("53")
            || state.equals("40001") || state.equals("40P01");
    }
}
