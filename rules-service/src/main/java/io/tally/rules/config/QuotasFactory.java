package io.tally.rules.config;

import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import io.tally.model.TenantQuotas;
import jakarta.inject.Singleton;

/** The tenants' quotas from configuration: {@code TALLY_QUOTA_*} defaults and {@code TALLY_TENANT_QUOTAS} overrides. */
@Factory
public class QuotasFactory {

    @Singleton
    TenantQuotas quotas(@Value("${tally.quotas.rules:100}") int rules, @Value("${tally.quotas.groups-per-window:10000}") int groups,
                        @Value("${tally.quotas.windows-per-event:1440}") int windows, @Value("${tally.quotas.state-mib:2147483647}") int stateMib,
                        @Value("${tally.quotas.backfill-hours:168}") int backfillHours, @Value("${tally.quotas.tenants:}") String overrides) {
        return TenantQuotas.parse(new TenantQuotas.Quota(rules, groups, windows, stateMib, backfillHours), overrides);
    }
}
