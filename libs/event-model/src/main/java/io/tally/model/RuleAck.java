package io.tally.model;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * An aggregation instance's acknowledgement on {@link Topics#RULE_ACKS} (key: the instance): every rule
 * record of {@link Topics#RULES} below {@code positions} (partition → next offset) is applied there.
 * Sent after each change and every second, so it is also the instance's liveness signal; {@code leaving}
 * says the instance is shutting down and should no longer be waited for; {@code failed} lists the rule
 * versions it read but cannot run.
 */
@Serdeable
public record RuleAck(String instance, Instant at, @Nullable Map<Integer, Long> positions, @Nullable Integer rules,
                      @Nullable Boolean leaving, @Nullable List<RuleFailure> failed) {

    public RuleAck(String instance, Instant at, @Nullable Map<Integer, Long> positions, @Nullable Integer rules, @Nullable Boolean leaving) {
        this(instance, at, positions, rules, leaving, null);
    }

    /** True when this instance has applied the rules record at {@code partition}/{@code offset}. */
    public boolean hasApplied(int partition, long offset) {
        Long next = positions == null ? null : positions.get(partition);
        return next != null && next > offset;
    }

    public boolean isLeaving() {
        return Boolean.TRUE.equals(leaving);
    }
}
