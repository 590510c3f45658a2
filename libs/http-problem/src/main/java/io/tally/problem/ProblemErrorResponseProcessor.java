package io.tally.problem;

import io.micronaut.context.annotation.Primary;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import jakarta.inject.Singleton;

/**
 * Turns every error Micronaut itself answers (no route, wrong method or media type, body too large,
 * unreadable body, unexpected failure) into problem+json. Server errors get a generic detail so no
 * internals leak.
 */
@Singleton
@Primary
public class ProblemErrorResponseProcessor implements ErrorResponseProcessor<Problem> {

    @Override
    public MutableHttpResponse<Problem> processResponse(ErrorContext context, MutableHttpResponse<?> base) {
        HttpStatus status = base.getStatus();
        if (status == HttpStatus.REQUEST_ENTITY_TOO_LARGE && headersTooLarge(context)) {
            // Netty reports oversized headers as "too large" too; say which part was too large.
            base.status(HttpStatus.REQUEST_HEADER_FIELDS_TOO_LARGE);
            Problem body = new Problem(Problem.BLANK_TYPE, HttpStatus.REQUEST_HEADER_FIELDS_TOO_LARGE.getReason(), 431,
                "The request line or headers are larger than the limit (16 KiB of headers); send less in them.", context.getRequest().getPath(), null);
            return base.contentType(Problem.MEDIA_TYPE).body(body);
        }
        String detail;
        if (status.getCode() >= 500) {
            detail = "The request could not be completed; it is safe to retry. If it keeps failing, report the request id.";
        } else if (status == HttpStatus.REQUEST_ENTITY_TOO_LARGE) {
            detail = "The request body is larger than the 1 MiB limit; send fewer events per request.";
        } else if (status == HttpStatus.NOT_FOUND) {
            detail = "No resource at " + context.getRequest().getPath() + ".";
        } else if (status == HttpStatus.BAD_REQUEST) {
            detail = "The request body could not be read; send valid JSON in UTF-8.";
        } else if (context.hasErrors()) {
            detail = context.getErrors().getFirst().getMessage();
        } else {
            detail = status.getReason();
        }
        Problem body = new Problem(Problem.BLANK_TYPE, status.getReason(), status.getCode(), detail, context.getRequest().getPath(), null);
        return base.contentType(Problem.MEDIA_TYPE).body(body);
    }

    /**
     * Netty's decoder rejects an oversized request line or header block as "too large" before any body is
     * read, without an exception; an oversized body comes with Micronaut's content-length exception.
     */
    private static boolean headersTooLarge(ErrorContext context) {
        return context.getRootCause().isEmpty();
    }
}
