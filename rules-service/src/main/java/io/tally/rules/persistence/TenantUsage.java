package io.tally.rules.persistence;

import io.tally.model.TenantQuotas;

/**
 * What a tenant's rules cost: {@code rules}, {@code windowsPerEvent} (the windows one event joins over them) and
 * {@code cellsPerEvent}, the state cells one event can update (per rule, its windows times one plus its
 * aggregations: what the gateway's fold limit charges per event), {@code worstCaseStateMib} (the most state they can hold,
 * {@link io.tally.rules.domain.RuleDefinition#worstCaseStateBytes}), with the tenant's {@code quotas}.
 */
public record TenantUsage(int rules, long windowsPerEvent, long cellsPerEvent, long worstCaseStateMib, TenantQuotas.Quota quotas) {
}
