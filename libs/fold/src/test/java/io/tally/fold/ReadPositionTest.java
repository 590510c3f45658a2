package io.tally.fold;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ReadPositionTest {

    @Test
    void readsFromTheCommittedOffsetWhenRedisHoldsEverythingBeforeIt() {
        assertEquals(500, ReadPosition.of(500L, 499L));
        assertEquals(500, ReadPosition.of(500L, 900L), "commits lag the marks: what lies between is read again, fenced");
    }

    @Test
    void readsAgainWhatARedisMasterLostAlthoughItWasCommitted() {
        assertEquals(301, ReadPosition.of(500L, 300L));
    }

    @Test
    void withoutACommitFromTheMarkAndWithoutEitherFromTheBeginning() {
        assertEquals(301, ReadPosition.of(null, 300L));
        assertEquals(-1, ReadPosition.of(null, null));
        assertEquals(42, ReadPosition.of(42L, null), "a master without marks cannot say more than the commit");
    }
}
