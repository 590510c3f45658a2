package io.tally.ingestion.domain;

import io.tally.model.Event;

import java.util.List;

/** The outcome of reading a request: every event, or every problem (never a partial list). */
public record ParsedEvents(List<Event> events, List<Violation> violations) {

    public boolean valid() {
        return violations.isEmpty();
    }
}
