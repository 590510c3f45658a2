package io.tally.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.serde.annotation.Serdeable;

import java.util.List;

/**
 * Which windows of one rule an aggregation flush changed, as it travels on {@link Topics#UPDATES}
 * (key {@code tenant:ruleId}). It names windows, not values: a reader that cares (the subscription
 * service, for rules someone watches) reads those windows' current values from Redis, so the cost of
 * a change is the same for a window of three groups and one of thirty thousand, and nobody pays it
 * for rules nobody watches.
 * <p>
 * {@code seq} is the highest update sequence, among the rule's shards the change touched, after it (every applied
 * batch increments its shard's sequence in the same atomic script that applies it; for a rule of one shard a read that
 * returns a sequence {@code >= seq} contains this change). Readers order what they read by the sequences they read,
 * not by this one. A change is published after it is applied and before its offsets are committed, and a
 * batch replayed after a crash is announced again (with the sequence current then): none is lost, some
 * come twice. Records of one rule from several aggregation instances may arrive out of order.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record RuleChange(String tenant, String ruleId, int ruleVersion, long seq, List<Long> windows) {
}
