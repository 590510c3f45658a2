package io.tally.model;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DeadLetterTest {

    @Test
    void headersReadBackToTheSameDeadLetter() {
        DeadLetter letter = new DeadLetter("acme", "r1", 3, 7, 12345, "key x holds a string", Instant.parse("2026-12-03T10:00:00Z"));
        assertEquals(letter, DeadLetter.fromHeaders(letter.headers()::get));
        assertEquals("acme:r1", letter.key());
    }

    @Test
    void anUnreadableEventHasNoTenantOrRule() {
        DeadLetter letter = new DeadLetter(null, null, 0, 2, 9, "unreadable", Instant.parse("2026-12-03T10:00:00Z"));
        assertEquals(letter, DeadLetter.fromHeaders(letter.headers()::get));
        assertEquals(":", letter.key());
    }

    @Test
    void aRecordWithoutTheHeadersIsNotADeadLetter() {
        assertThrows(IllegalArgumentException.class, () -> DeadLetter.fromHeaders(name -> null));
    }
}
