package io.tally.aggregation.persistence;

import java.nio.charset.StandardCharsets;

/**
 * Whole numbers as the ASCII digits Redis reads, written straight into a byte array: a batch's scripts carry hundreds of
 * thousands of counts and offsets, and going through a {@code String} costs two allocations each. Small numbers (most
 * counts of a group in a batch) are shared arrays; callers never write into what they get.
 */
final class AsciiNumbers {

    private static final byte[][] SMALL = new byte[1024][];

    static {
        for (int i = 0; i < SMALL.length; i++) {
            SMALL[i] = Integer.toString(i).getBytes(StandardCharsets.US_ASCII);
        }
    }

    private AsciiNumbers() {
    }

    /** The decimal digits of {@code n}, with a leading {@code -} when negative (what {@link Long#toString(long)} writes). */
    static byte[] of(long n) {
        if (n >= 0 && n < SMALL.length) {
            return SMALL[(int) n];
        }
        if (n == Long.MIN_VALUE) {
            return "-9223372036854775808".getBytes(StandardCharsets.US_ASCII);
        }
        boolean negative = n < 0;
        long rest = negative ? -n : n;
        int digits = 1;
        for (long bound = 10; digits < 19 && rest >= bound; bound *= 10) {
            digits++;
        }
        byte[] out = new byte[digits + (negative ? 1 : 0)];
        for (int i = out.length - 1; i >= out.length - digits; i--) {
            out[i] = (byte) ('0' + rest % 10);
            rest /= 10;
        }
        if (negative) {
            out[0] = '-';
        }
        return out;
    }
}
