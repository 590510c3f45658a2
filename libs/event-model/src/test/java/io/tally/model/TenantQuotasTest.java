package io.tally.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TenantQuotasTest {

    private static final TenantQuotas.Quota DEFAULTS = new TenantQuotas.Quota(100, 10_000, 1440);

    @Test
    void overridesReplaceOnlyTheQuotasTheyName() {
        TenantQuotas quotas = TenantQuotas.parse(DEFAULTS, "acme=rules:500,groups:50000; tiny = windows:10 ;small=state:64");
        assertEquals(new TenantQuotas.Quota(500, 50_000, 1440), quotas.of("acme"));
        assertEquals(new TenantQuotas.Quota(100, 10_000, 10), quotas.of("tiny"));
        assertEquals(new TenantQuotas.Quota(100, 10_000, 1440, 64), quotas.of("small"));
        assertEquals(TenantQuotas.Quota.DEFAULT_STATE_MIB, quotas.of("acme").stateMib());
        assertEquals(DEFAULTS, quotas.of("anyone"));
        assertEquals(DEFAULTS, TenantQuotas.parse(DEFAULTS, "").of("acme"));
    }

    @Test
    void aMistakeSaysHowItShouldLook() {
        for (String bad : new String[] {"acme", "acme=rules", "acme=bytes:5", "acme=rules:0", "acme=rules:many", "=rules:5"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TenantQuotas.parse(DEFAULTS, bad), bad);
            assertTrue(e.getMessage().contains("should") || e.getMessage().contains("must"), e.getMessage());
        }
    }
}
