package io.tally.ingestion.domain;

/** One problem with a request: an RFC 6901 JSON pointer into the body, and what is wrong there. */
public record Violation(String pointer, String message) {
}
