package io.tally.gateway.ratelimit;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LimitsTest {

    @Test
    void appliesPerTenantOverridesAndFallsBackToDefaults() {
        Limits limits = new Limits(new Limits.Limit(100, 200), new Limits.Limit(10, 20), new Limits.Limit(1000, 2000), "acme=ingest:5/7,query:1/2,fold:50/70; big=query:1000/2000");
        assertEquals(new Limits.Limit(5, 7), limits.of("acme", Limits.Kind.INGEST));
        assertEquals(new Limits.Limit(1, 2), limits.of("acme", Limits.Kind.QUERY));
        assertEquals(new Limits.Limit(100, 200), limits.of("big", Limits.Kind.INGEST));
        assertEquals(new Limits.Limit(1000, 2000), limits.of("big", Limits.Kind.QUERY));
        assertEquals(new Limits.Limit(10, 20), limits.of("other", Limits.Kind.QUERY));
        assertEquals(new Limits.Limit(50, 70), limits.of("acme", Limits.Kind.FOLD));
        assertEquals(new Limits.Limit(1000, 2000), limits.of("big", Limits.Kind.FOLD));
    }

    @Test
    void explainsMalformedOverrides() {
        assertThrows(IllegalArgumentException.class, () -> Limits.parse("acme"));
        assertThrows(IllegalArgumentException.class, () -> Limits.parse("acme=ingest:5"));
        assertThrows(IllegalArgumentException.class, () -> Limits.parse("acme=upload:5/6"));
        assertThrows(IllegalArgumentException.class, () -> Limits.parse("acme=ingest:0/6"));
    }
}
