package io.tally.rules.api;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.tally.problem.ProblemException;
import io.tally.problem.ProblemExceptionHandler;
import io.tally.rules.persistence.StoreUnavailable;
import io.tally.rules.persistence.VersionConflict;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** PostgreSQL away → 503 with Retry-After (nothing was changed); a stale If-Match → 412. */
final class StoreProblems {

    private static final Logger LOG = LoggerFactory.getLogger(StoreProblems.class);
    static final int RETRY_AFTER_SECONDS = 5;

    private StoreProblems() {
    }

    @Singleton
    @Produces
    static final class Unavailable implements ExceptionHandler<StoreUnavailable, HttpResponse<?>> {
        private final ProblemExceptionHandler problems;

        Unavailable(ProblemExceptionHandler problems) {
            this.problems = problems;
        }

        @Override
        public HttpResponse<?> handle(HttpRequest request, StoreUnavailable e) {
            LOG.warn("{} {}: {}", request.getMethod(), request.getPath(), e.getMessage());
            return problems.handle(request, ProblemException.unavailable(
                "The rules database is unavailable; nothing was changed. Retry after Retry-After seconds.", RETRY_AFTER_SECONDS));
        }
    }

    @Singleton
    @Produces
    static final class Conflict implements ExceptionHandler<VersionConflict, HttpResponse<?>> {
        private final ProblemExceptionHandler problems;

        Conflict(ProblemExceptionHandler problems) {
            this.problems = problems;
        }

        @Override
        public HttpResponse<?> handle(HttpRequest request, VersionConflict e) {
            return problems.handle(request, new ProblemException(HttpStatus.PRECONDITION_FAILED, "Precondition failed",
                "If-Match names an older version; the current version is " + e.current() + ". Read it again and retry.", null, null));
        }
    }
}
