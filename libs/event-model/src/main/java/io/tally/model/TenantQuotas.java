package io.tally.model;

import java.util.HashMap;
import java.util.Map;

/**
 * What one tenant may cost the fleet, with defaults and per-tenant overrides written as
 * {@code tenant=rules:500,groups:50000,windows:2880,state:65536;other=rules:5} ({@code TALLY_TENANT_QUOTAS}). The
 * rules service refuses a rule that would pass {@code rules}, {@code windows} or {@code state}; the aggregation counts
 * the groups of a window beyond {@code groups} in the {@code __other__} group.
 *
 * @param defaults  what a tenant without an override gets
 * @param overrides per tenant, the quotas it sets (unset ones keep the default)
 */
public record TenantQuotas(Quota defaults, Map<String, Map<Kind, Integer>> overrides) {

    /** One quota. */
    public enum Kind {
        /** Rules the tenant may have. */
        RULES("rules"),
        /** Distinct groups a window of one rule keeps; more are counted in the {@code __other__} group. */
        GROUPS("groups"),
        /** Windows one event joins, summed over the tenant's rules (size / slide of each): what an event costs. */
        WINDOWS("windows"),
        /**
         * MiB of state the tenant's rules may hold at most, worst case: the windows each keeps at once times the groups
         * quota times what a group stores (counters, dense HyperLogLogs, full topk sketches).
         */
        STATE("state"),
        /** Hours of retained events a rule version may be backfilled from ({@code "backfill": "PT6H"}). */
        BACKFILL("backfill");

        private final String key;

        Kind(String key) {
            this.key = key;
        }

        public String key() {
            return key;
        }
    }

    /** A tenant's quotas. */
    public record Quota(int rules, int groupsPerWindow, int windowsPerEvent, int stateMib, int backfillHours) {

        /** The default backfill quota: the week {@code tally.events} retains. */
        public static final int DEFAULT_BACKFILL_HOURS = 168;

        public Quota(int rules, int groupsPerWindow, int windowsPerEvent, int stateMib) {
            this(rules, groupsPerWindow, windowsPerEvent, stateMib, DEFAULT_BACKFILL_HOURS);
        }

        public Quota {
            if (rules < 1 || groupsPerWindow < 1 || windowsPerEvent < 1 || stateMib < 1 || backfillHours < 1) {
                throw new IllegalArgumentException("every quota must be at least 1");
            }
        }

        /**
         * The default state quota: none (2 PiB). A worst case is orders of magnitude above what rules usually hold (a
         * sliding PT1M/PT10S rule with a distinct count kept a day may hold 1 TiB at the default groups quota), so the
         * operator sets a budget that matches the fleet's sizing, per tenant or for all.
         */
        public static final int DEFAULT_STATE_MIB = Integer.MAX_VALUE;

        /** Quotas with the default state quota. */
        public Quota(int rules, int groupsPerWindow, int windowsPerEvent) {
            this(rules, groupsPerWindow, windowsPerEvent, DEFAULT_STATE_MIB);
        }
    }

    public TenantQuotas {
        overrides = Map.copyOf(overrides);
    }

    /** The tenant's quotas: its overrides over the defaults. */
    public Quota of(String tenant) {
        Map<Kind, Integer> own = overrides.get(tenant);
        if (own == null) {
            return defaults;
        }
        return new Quota(own.getOrDefault(Kind.RULES, defaults.rules()), own.getOrDefault(Kind.GROUPS, defaults.groupsPerWindow()),
            own.getOrDefault(Kind.WINDOWS, defaults.windowsPerEvent()), own.getOrDefault(Kind.STATE, defaults.stateMib()),
            own.getOrDefault(Kind.BACKFILL, defaults.backfillHours()));
    }

    /** Parses the overrides; {@link IllegalArgumentException} saying what is wrong and how it should look. */
    public static TenantQuotas parse(Quota defaults, String spec) {
        Map<String, Map<Kind, Integer>> result = new HashMap<>();
        TenantOverrides.parse(spec, "tenant quota", "tenant=rules:500,groups:50000,windows:2880").forEach((tenant, given) -> {
            Map<Kind, Integer> quotas = new HashMap<>();
            given.forEach((key, text) -> {
                Kind kind = null;
                for (Kind k : Kind.values()) {
                    if (k.key().equals(key)) {
                        kind = k;
                    }
                }
                if (kind == null) {
                    throw new IllegalArgumentException("tenant quota '" + key + ":" + text + "' for " + tenant
                        + " should be rules:<n>, groups:<n>, windows:<n>, state:<MiB> or backfill:<hours>");
                }
                int value;
                try {
                    value = Integer.parseInt(text);
                } catch (NumberFormatException e) {
                    value = 0;
                }
                if (value < 1) {
                    throw new IllegalArgumentException("tenant quota '" + key + ":" + text + "' for " + tenant + " must be a whole number of at least 1");
                }
                quotas.put(kind, value);
            });
            result.put(tenant, Map.copyOf(quotas));
        });
        return new TenantQuotas(defaults, result);
    }
}
