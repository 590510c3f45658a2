package io.tally.problem;

import io.micronaut.http.HttpStatus;

import java.util.List;

/**
 * Ends a request with a problem+json answer. Thrown by controllers and domain adapters; never carries
 * internals (stack traces, class names, SQL) into the body.
 */
public class ProblemException extends RuntimeException {

    private final HttpStatus status;
    private final String title;
    private final List<FieldError> errors;
    private final Integer retryAfterSeconds;

    public ProblemException(HttpStatus status, String title, String detail, List<FieldError> errors, Integer retryAfterSeconds) {
        super(detail, null, false, false);
        this.status = status;
        this.title = title;
        this.errors = errors == null || errors.isEmpty() ? null : List.copyOf(errors);
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400 naming every problem of the input. */
    public static ProblemException invalid(String detail, List<FieldError> errors) {
        return new ProblemException(HttpStatus.BAD_REQUEST, "Invalid request", detail, errors, null);
    }

    /** 503 with a Retry-After: a dependency is down; the client should retry the same request. */
    public static ProblemException unavailable(String detail, int retryAfterSeconds) {
        return new ProblemException(HttpStatus.SERVICE_UNAVAILABLE, "Service unavailable", detail, null, Math.max(1, retryAfterSeconds));
    }

    public static ProblemException notFound(String detail) {
        return new ProblemException(HttpStatus.NOT_FOUND, "Not found", detail, null, null);
    }

    public static ProblemException unauthorized(String detail) {
        return new ProblemException(HttpStatus.UNAUTHORIZED, "Unauthorized", detail, null, null);
    }

    public HttpStatus status() {
        return status;
    }

    public String title() {
        return title;
    }

    public List<FieldError> errors() {
        return errors;
    }

    public Integer retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
