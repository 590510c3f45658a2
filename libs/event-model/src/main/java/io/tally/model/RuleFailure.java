package io.tally.model;

import io.micronaut.serde.annotation.Serdeable;

/** A rule version an aggregation instance could not run, and why: the rule's status is then {@code failed}. */
@Serdeable
public record RuleFailure(String tenant, String ruleId, int version, String reason) {
}
