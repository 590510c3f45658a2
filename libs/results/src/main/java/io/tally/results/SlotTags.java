package io.tally.results;

import io.lettuce.core.cluster.SlotHash;

/** For every Redis Cluster slot, a short hash tag that maps to it (found once, by counting up). */
public final class SlotTags {

    private static final String[] TAGS = new String[SlotHash.SLOT_COUNT];

    static {
        int found = 0;
        for (int i = 0; found < TAGS.length; i++) {
            String tag = Integer.toString(i, 36);
            int slot = SlotHash.getSlot(tag);
            if (TAGS[slot] == null) {
                TAGS[slot] = tag;
                found++;
            }
        }
    }

    private SlotTags() {
    }

    /** A tag whose slot is {@code slot}: a key containing {@code {tag}} lives on that slot. */
    public static String tagOf(int slot) {
        return TAGS[slot];
    }
}
