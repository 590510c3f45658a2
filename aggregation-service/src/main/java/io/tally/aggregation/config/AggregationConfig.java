package io.tally.aggregation.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

import java.time.Duration;

/**
 * Settings of the aggregation engine ({@code tally.aggregation.*}).
 *
 * @param maxBatchEvents a micro-batch is flushed once it holds this many events
 * @param maxBatchDelay  ... or once its oldest event waited this long
 * @param groupId        the consumer group of the aggregation instances
 * @param instanceId     static group membership: a restarted instance with the same id gets its partitions back
 *                       at once instead of after the session timeout; distinct per live instance
 * @param haltAfterApply fault injection for crash tests, off (0) by default: halt the JVM right after the Nth
 *                       batch reached Redis and before its offsets are committed, the worst moment to die
 * @param minReplicas    a flush counts as done (ids kept, offsets committed) only once every Redis master it wrote
 *                       to passed its writes to this many replicas (at most as many as the master has); 0 turns
 *                       the wait off and lets a master failover lose the last flushes
 * @param replicaTimeout how long a flush waits for that; falling short rewinds and applies the batch again
 * @param idleTimeout    {@code TALLY_IDLE_TIMEOUT}: a partition without events of a tenant for this long advances
 *                       the tenant's finality by wall clock from then on, so windows close without new data
 * @param finalityInterval how often the rules' finality marks are moved (and closed windows announced)
 * @param maxBatchCells  ... or once its events make this many deltas: over their tenants' rules, windows joined times
 *                       (1 + aggregations) — what folding costs in memory, ~100-300 bytes each (a rule with 1,440
 *                       windows per event and 3 aggregations fills a batch with ~85 events; a tumbling count, 250,000)
 * @param maxScriptCells one rule's share of a batch of one partition is applied by scripts of at most about this many
 *                       writes each ({@link io.tally.fold.RuleDelta}), so that no script holds a Redis
 *                       master (and every read of every tenant on it) for long: ~20,000 writes take 10-40 ms
 * @param pipeline       {@code TALLY_AGGREGATION_PIPELINE}: fold the next batch while Redis applies the one before (true), or
 *                       flush each batch to its end before reading the next (false)
 * @param backfillConcurrency {@code TALLY_BACKFILL_CONCURRENCY}: how many rule versions' backfills one instance runs at once
 *                       (the others wait, or run on other instances)
 * @param backfillMaxIds {@code TALLY_BACKFILL_MAX_IDS}: how many event ids one backfill may hold at once to count duplicates
 *                       once (about 100 bytes each); a span that needs more fails, saying so
 * @param backfillRate   {@code TALLY_BACKFILL_RATE}: at most this many records of the event log per second one backfill reads (0:
 *                       as fast as it can), so a long backfill leaves the live engine its share of a busy machine
 * @param poisonAttempts how often a batch whose script fails on a rule's own data is tried before it is quarantined
 *                       to the dead-letter topic ({@link io.tally.fold.PoisonBatches})
 */
@ConfigurationProperties(AggregationConfig.PREFIX)
public record AggregationConfig(
    @Bindable(defaultValue = "20000") int maxBatchEvents,
    @Bindable(defaultValue = "20ms") Duration maxBatchDelay,
    @Bindable(defaultValue = "tally-aggregation") String groupId,
    @Bindable(defaultValue = "aggregation-local") String instanceId,
    @Bindable(defaultValue = "0") int haltAfterApply,
    @Bindable(defaultValue = "1") int minReplicas,
    @Bindable(defaultValue = "2s") Duration replicaTimeout,
    @Bindable(defaultValue = "30s") Duration idleTimeout,
    @Bindable(defaultValue = "1s") Duration finalityInterval,
    @Bindable(defaultValue = "3") int poisonAttempts,
    @Bindable(defaultValue = "500000") long maxBatchCells,
    @Bindable(defaultValue = "20000") long maxScriptCells,
    @Bindable(defaultValue = "true") boolean pipeline,
    @Bindable(defaultValue = "50") int metricsMaxTenants,
    @Bindable(defaultValue = "200") int metricsMaxRules,
    @Bindable(defaultValue = "1") int backfillConcurrency,
    @Bindable(defaultValue = "2000000") long backfillMaxIds,
    @Bindable(defaultValue = "0") long backfillRate) {

    public static final String PREFIX = "tally.aggregation";
}
