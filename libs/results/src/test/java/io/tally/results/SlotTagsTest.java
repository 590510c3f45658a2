package io.tally.results;

import io.lettuce.core.cluster.SlotHash;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SlotTagsTest {

    @Test
    void everySlotHasATagThatHashesToIt() {
        for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
            assertEquals(slot, SlotHash.getSlot("tally:sync:{" + SlotTags.tagOf(slot) + "}"), "slot " + slot);
        }
    }
}
