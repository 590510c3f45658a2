package io.tally.aggregation.messaging;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.tally.fold.CompiledRule;
import io.tally.telemetry.BoundedLabels;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * What the engine does per tenant and rule, on /prometheus, with label values bounded ({@link BoundedLabels}: the
 * first tenants and rules seen have their own series, later ones share {@value BoundedLabels#OTHER}):
 * <ul>
 *   <li>{@code tally_rule_events_counted_total{tenant,rule}}, {@code tally_rule_late_events_total{tenant,rule}},
 *       {@code tally_rule_dead_lettered_events_total{tenant,rule}};</li>
 *   <li>{@code tally_freshness_seconds{tenant}} (histogram): from a batch's oldest event of the tenant being appended
 *       to the log (its 202) to the batch applied and replicated, announced to subscribers;</li>
 *   <li>{@code tally_watermark_delay_seconds{tenant}}: how far the tenant's newest event time on this instance lies
 *       behind the wall clock.</li>
 * </ul>
 */
final class EngineMetrics {

    /** Freshness buckets around the 200 ms target. */
    private static final Duration[] FRESHNESS_SLOS = {Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
        Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofSeconds(1), Duration.ofSeconds(5)};

    private final MeterRegistry meters;
    private final BoundedLabels tenants;
    private final BoundedLabels rules;
    private final LongSupplier clock;
    private final Map<String, AtomicLong> watermarks = new ConcurrentHashMap<>();
    private final Map<String, Timer> freshness = new ConcurrentHashMap<>();
    private final Map<String, Counter[]> ruleCounters = new ConcurrentHashMap<>();

    EngineMetrics(MeterRegistry meters, int maxTenants, int maxRules, LongSupplier clock) {
        this.meters = meters;
        this.tenants = new BoundedLabels(maxTenants);
        this.rules = new BoundedLabels(maxRules);
        this.clock = clock;
    }

    /** One batch's counts of one rule. */
    void counted(CompiledRule rule, long events, long late) {
        Counter[] counters = counters(rule);
        if (events > 0) {
            counters[0].increment(events);
        }
        if (late > 0) {
            counters[1].increment(late);
        }
    }

    /** Events of the rule sent to the dead-letter topic. */
    void deadLettered(CompiledRule rule, long events) {
        counters(rule)[2].increment(events);
    }

    /** The tenant's oldest event in a batch was appended at {@code appendedAt}; the batch is applied now. */
    void applied(String tenant, long appendedAt) {
        String label = tenants.of(tenant);
        freshness.computeIfAbsent(label, t -> Timer.builder("tally.freshness")
                .description("From an event's append to the log (its 202) to its batch applied, replicated and announced")
                .tag("tenant", t).serviceLevelObjectives(FRESHNESS_SLOS).publishPercentileHistogram(false)
                .register(meters))
            .record(Math.max(0, clock.getAsLong() - appendedAt), TimeUnit.MILLISECONDS);
    }

    /** The tenant's watermark on some partition of this instance (the highest one is kept). */
    void watermark(String tenant, long watermark) {
        String label = tenants.of(tenant);
        watermarks.computeIfAbsent(label, t -> {
            AtomicLong held = new AtomicLong(Long.MIN_VALUE);
            Gauge.builder("tally.watermark.delay", held, h -> h.get() == Long.MIN_VALUE ? Double.NaN : (clock.getAsLong() - h.get()) / 1000.0)
                .description("How far the tenant's newest event time on this instance lies behind the wall clock")
                .baseUnit("seconds").tag("tenant", t).register(meters);
            return held;
        }).accumulateAndGet(watermark, Math::max);
    }

    private Counter[] counters(CompiledRule rule) {
        String key = rule.tenant() + ":" + rule.id();
        return ruleCounters.computeIfAbsent(key, k -> {
            boolean own = !rules.of(k).equals(BoundedLabels.OTHER);
            String tenant = own ? rule.tenant() : BoundedLabels.OTHER;
            String id = own ? rule.id() : BoundedLabels.OTHER;
            return new Counter[] {
                Counter.builder("tally.rule.events.counted").description("Events a rule counted (joined one of its windows)")
                    .tags("tenant", tenant, "rule", id).register(meters),
                Counter.builder("tally.rule.late.events").description("Events too late for every window of a rule")
                    .tags("tenant", tenant, "rule", id).register(meters),
                Counter.builder("tally.rule.dead.lettered.events").description("Events of a rule's quarantined batches, sent to tally.dead-letters")
                    .tags("tenant", tenant, "rule", id).register(meters)};
        });
    }
}
