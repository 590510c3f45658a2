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
 * versions it read but cannot run; {@code backfills} how the backfills it runs are going (and how those that ended
 * ended, for a while after).
 */
@Serdeable
public record RuleAck(String instance, Instant at, @Nullable Map<Integer, Long> positions, @Nullable Integer rules,
                      @Nullable Boolean leaving, @Nullable List<RuleFailure> failed, @Nullable List<BackfillReport> backfills) {

    public RuleAck(String instance, Instant at, @Nullable Map<Integer, Long> positions, @Nullable Integer rules, @Nullable Boolean leaving) {
        this(instance, at, positions, rules, leaving, null, null);
    }

    /**
     * How the backfill of one rule version goes: {@code state} running, done or failed (with {@code reason});
     * {@code eventsRead} the records of the event log read so far (every tenant's events share the log, so this is what the
     * backfill's duration follows), {@code position} the log time (ISO-8601) it has read up to,
     * {@code estimatedSecondsLeft} at the rate so far (null while unknown).
     */
    @Serdeable
    public record BackfillReport(String tenant, String ruleId, int version, String state, long eventsRead, @Nullable String position,
                                 @Nullable Long estimatedSecondsLeft, @Nullable String reason) {
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
