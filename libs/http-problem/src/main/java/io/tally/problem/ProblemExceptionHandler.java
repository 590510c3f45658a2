package io.tally.problem;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;

/** Writes a {@link ProblemException} as problem+json, with Retry-After where it has one. */
@Singleton
@Produces(Problem.MEDIA_TYPE)
public class ProblemExceptionHandler implements ExceptionHandler<ProblemException, HttpResponse<Problem>> {

    @Override
    public HttpResponse<Problem> handle(HttpRequest request, ProblemException e) {
        Problem body = new Problem(Problem.BLANK_TYPE, e.title(), e.status().getCode(), e.getMessage(), request.getPath(), e.errors());
        MutableHttpResponse<Problem> response = HttpResponse.<Problem>status(e.status()).body(body).contentType(Problem.MEDIA_TYPE);
        if (e.retryAfterSeconds() != null) {
            response.header("Retry-After", Integer.toString(e.retryAfterSeconds()));
        }
        return response;
    }
}
