package io.tally.subscription.domain;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SubscriptionQuotasTest {

    @Test
    void aSocketAndATenantEachHaveTheirLimit() {
        SubscriptionQuotas quotas = new SubscriptionQuotas(2, 3);
        assertNull(quotas.refusal("a", 1));
        assertTrue(quotas.refusal("a", 2).startsWith("A socket may hold 2 subscriptions"));
        quotas.added("a");
        quotas.added("a");
        quotas.added("a");
        assertTrue(quotas.refusal("a", 0).startsWith("The tenant holds 3 subscriptions"));
        assertNull(quotas.refusal("b", 0), "tenants are counted apart");
        assertEquals(3, quotas.total());
        quotas.removed("a");
        assertNull(quotas.refusal("a", 0));
        assertEquals(2, quotas.of("a"));
        assertEquals(2, quotas.total());
    }

    @Test
    void removingWhatWasNeverAddedChangesNothing() {
        SubscriptionQuotas quotas = new SubscriptionQuotas(2, 3);
        quotas.removed("nobody");
        assertEquals(0, quotas.total());
        assertNotNull(quotas.refusal("a", 5));
    }
}
