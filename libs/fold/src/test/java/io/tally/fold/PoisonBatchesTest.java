package io.tally.fold;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PoisonBatchesTest {

    @Test
    void aBatchIsQuarantinedAtItsThirdFailure() {
        PoisonBatches poison = new PoisonBatches(3);
        assertFalse(poison.failed(4, "t:r"));
        assertFalse(poison.failed(4, "t:r"));
        assertTrue(poison.failed(4, "t:r"));
        assertEquals(3, poison.failures(4, "t:r"));
    }

    @Test
    void whileARuleKeepsFailingEachFurtherBatchIsQuarantinedAtOnce() {
        PoisonBatches poison = new PoisonBatches(3);
        poison.failed(4, "t:r");
        poison.failed(4, "t:r");
        assertTrue(poison.failed(4, "t:r"));
        assertTrue(poison.failed(4, "t:r"), "the next batch of the broken rule");
    }

    @Test
    void anAppliedBatchStartsTheCountAfresh() {
        PoisonBatches poison = new PoisonBatches(2);
        poison.failed(4, "t:r");
        poison.applied(4, "t:r");
        assertFalse(poison.failed(4, "t:r"));
        assertTrue(poison.failed(4, "t:r"));
    }

    @Test
    void rulesAndPartitionsCountApart() {
        PoisonBatches poison = new PoisonBatches(2);
        poison.failed(4, "t:r");
        assertFalse(poison.failed(5, "t:r"));
        assertFalse(poison.failed(4, "t:other"));
        assertTrue(poison.failed(4, "t:r"));
        poison.forget(4);
        assertEquals(0, poison.failures(4, "t:r"));
        assertEquals(1, poison.failures(5, "t:r"));
    }

    @Test
    void atLeastOneAttempt() {
        assertThrows(IllegalArgumentException.class, () -> new PoisonBatches(0));
    }
}
