package io.tally.gateway.ratelimit;

import io.tally.model.ManualTime;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ReservationTest {

    private final ManualTime time = new ManualTime(Instant.parse("2026-12-07T10:00:00Z"));
    private final TenantRateLimiter.Reservation reservation = new TenantRateLimiter.Reservation(time::nanos);

    @Test
    void handsOutReservedTokensUntilTheyRunOut() {
        reservation.add(10, 500);
        assertEquals(6, reservation.take(4));
        assertEquals(0, reservation.take(6));
        assertEquals(-1, reservation.take(1), "none left: the shared bucket decides");
        assertEquals(500, reservation.sharedRemaining);
    }

    @Test
    void unusedTokensGoBackOnceTheReservationIsOlderThanItsTtl() {
        reservation.add(10, 500);
        reservation.take(3);
        time.advance(Duration.ofMillis(999));
        assertEquals(0, reservation.expire(), "still reserved just before the TTL");
        assertEquals(5, reservation.take(2));
        time.advance(Duration.ofMillis(1));
        assertEquals(-1, reservation.take(1), "an expired reservation hands out nothing");
        assertEquals(5, reservation.expire(), "the unused five go back");
        assertEquals(0, reservation.expire(), "and only once");
    }
}
