package io.tally.problem;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.serde.annotation.Serdeable;

/**
 * One problem with the input: where (an RFC 6901 JSON pointer into the request body; {@code ""} is
 * the whole body, so it is always written) and what.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record FieldError(String pointer, String message) {
}
