package io.tally.rules.domain;

/** One problem of a request body: where (RFC 6901 JSON pointer) and what is wrong. */
public record Violation(String pointer, String message) {
}
