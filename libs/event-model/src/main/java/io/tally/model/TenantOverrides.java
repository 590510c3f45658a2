package io.tally.model;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per-tenant overrides given in one setting, {@code tenantA=key:value,key:value;tenantB=key:value} (rate limits,
 * quotas): split into tenant → key → value text, or {@link IllegalArgumentException} naming the entry at fault and
 * showing how one looks.
 */
public final class TenantOverrides {

    private TenantOverrides() {
    }

    /**
     * @param what    what an entry is, for messages ("tenant limit")
     * @param example one well-formed entry ("tenant=ingest:100/200,query:10/20")
     */
    public static Map<String, Map<String, String>> parse(String spec, String what, String example) {
        Map<String, Map<String, String>> result = new LinkedHashMap<>();
        if (spec == null || spec.isBlank()) {
            return result;
        }
        for (String entry : spec.split(";")) {
            if (entry.isBlank()) {
                continue;
            }
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(what + " '" + entry.trim() + "' should look like " + example);
            }
            String tenant = entry.substring(0, eq).trim();
            Map<String, String> values = new LinkedHashMap<>();
            for (String part : entry.substring(eq + 1).split(",")) {
                int colon = part.indexOf(':');
                if (colon <= 0 || part.indexOf(':', colon + 1) >= 0) {
                    throw new IllegalArgumentException(what + " '" + part.trim() + "' for " + tenant + " should look like "
                        + example.substring(example.indexOf('=') + 1).split(",")[0]);
                }
                values.put(part.substring(0, colon).trim(), part.substring(colon + 1).trim());
            }
            result.put(tenant, values);
        }
        return result;
    }
}
