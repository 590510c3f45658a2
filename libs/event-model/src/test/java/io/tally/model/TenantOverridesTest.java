package io.tally.model;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TenantOverridesTest {

    private static Map<String, Map<String, String>> parse(String spec) {
        return TenantOverrides.parse(spec, "tenant limit", "tenant=ingest:100/200,query:10/20");
    }

    @Test
    void splitsTenantsAndTheirValues() {
        assertEquals(Map.of("acme", Map.of("ingest", "100/200", "query", "10/20"), "beta", Map.of("fold", "5/5")),
            parse(" acme = ingest:100/200 , query: 10/20 ;; beta=fold:5/5;"));
        assertTrue(parse(null).isEmpty());
        assertTrue(parse("  ").isEmpty());
    }

    @Test
    void namesTheEntryAtFaultAndShowsHowOneLooks() {
        IllegalArgumentException noTenant = assertThrows(IllegalArgumentException.class, () -> parse("ingest:1/2"));
        assertEquals("tenant limit 'ingest:1/2' should look like tenant=ingest:100/200,query:10/20", noTenant.getMessage());
        IllegalArgumentException noColon = assertThrows(IllegalArgumentException.class, () -> parse("acme=ingest"));
        assertEquals("tenant limit 'ingest' for acme should look like ingest:100/200", noColon.getMessage());
        assertThrows(IllegalArgumentException.class, () -> parse("acme=ingest:1:2"));
    }
}
