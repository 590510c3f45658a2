package io.tally.aggregation.persistence;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

class AsciiNumbersTest {

    private static void assertWritesAsLongToString(long n) {
        assertEquals(Long.toString(n), new String(AsciiNumbers.of(n), StandardCharsets.US_ASCII), "for " + n);
    }

    @Test
    void writesWhatLongToStringWritesAtEveryEdge() {
        LongStream.of(0, 1, 9, 10, 99, 100, 1023, 1024, 1025, -1, -9, -10, -1023, -1024, 999_999_999_999_999_999L,
            1_000_000_000_000_000_000L, Long.MAX_VALUE, Long.MIN_VALUE, Long.MIN_VALUE + 1, Integer.MAX_VALUE, Integer.MIN_VALUE)
            .forEach(AsciiNumbersTest::assertWritesAsLongToString);
        for (long power = 1; power > 0 && power <= Long.MAX_VALUE / 10; power *= 10) {
            assertWritesAsLongToString(power - 1);
            assertWritesAsLongToString(power);
            assertWritesAsLongToString(-power);
        }
    }

    @Test
    void writesWhatLongToStringWritesForAnyNumber() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 100_000; i++) {
            long n = random.nextLong();
            assertWritesAsLongToString(n >> random.nextInt(64));
        }
    }
}
