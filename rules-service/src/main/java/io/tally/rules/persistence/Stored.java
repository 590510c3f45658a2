package io.tally.rules.persistence;

import java.time.Instant;

/**
 * One stored rule or dashboard: its definition as JSON, version and timestamps. For rules,
 * {@code publishedPartition}/{@code publishedOffset} locate the current version on tally.rules once relayed.
 */
public record Stored(String tenant, String id, int version, String definitionJson, Instant createdAt, Instant updatedAt,
                     Integer publishedPartition, Long publishedOffset) {
}
