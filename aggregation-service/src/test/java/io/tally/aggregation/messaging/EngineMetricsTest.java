package io.tally.aggregation.messaging;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tally.fold.CompiledRule;
import io.tally.model.RuleRecord;
import io.tally.telemetry.BoundedLabels;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EngineMetricsTest {

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final AtomicLong clock = new AtomicLong(1_000_000);
    private final EngineMetrics metrics = new EngineMetrics(meters, 2, 2, clock::get);

    private static CompiledRule rule(String tenant, String id) {
        return CompiledRule.compile(new RuleRecord(tenant, id, 1, id, null, List.of(), List.of(new RuleRecord.Aggregation("n", "count", null, null)),
            new RuleRecord.Window("PT1M", null), "PT5S", "PT24H"));
    }

    private double counter(String name, String tenant, String rule) {
        return meters.get(name).tags("tenant", tenant, "rule", rule).counter().count();
    }

    @Test
    void countsPerRuleWithTheLabelsBounded() {
        metrics.counted(rule("acme", "a"), 10, 2);
        metrics.counted(rule("acme", "a"), 5, 0);
        metrics.counted(rule("acme", "b"), 1, 1);
        metrics.counted(rule("beta", "c"), 7, 3);
        metrics.counted(rule("beta", "d"), 4, 0);
        metrics.deadLettered(rule("acme", "a"), 9);
        assertEquals(15, counter("tally.rule.events.counted", "acme", "a"));
        assertEquals(2, counter("tally.rule.late.events", "acme", "a"));
        assertEquals(9, counter("tally.rule.dead.lettered.events", "acme", "a"));
        assertEquals(1, counter("tally.rule.events.counted", "acme", "b"));
        // Past two rules, the rest share one series.
        assertEquals(11, counter("tally.rule.events.counted", BoundedLabels.OTHER, BoundedLabels.OTHER));
        assertEquals(3, counter("tally.rule.late.events", BoundedLabels.OTHER, BoundedLabels.OTHER));
    }

    @Test
    void freshnessIsFromAppendToNowAndTheWatermarkDelayFollowsTheClock() {
        metrics.applied("acme", clock.get() - 150);
        metrics.applied("acme", clock.get() - 50);
        var timer = meters.get("tally.freshness").tag("tenant", "acme").timer();
        assertEquals(2, timer.count());
        assertEquals(150, timer.max(TimeUnit.MILLISECONDS));
        assertEquals(200, timer.totalTime(TimeUnit.MILLISECONDS));

        metrics.watermark("acme", clock.get() - 3_000);
        metrics.watermark("acme", clock.get() - 10_000); // another partition, further behind: the highest counts
        var delay = meters.get("tally.watermark.delay").tag("tenant", "acme").gauge();
        assertEquals(3.0, delay.value());
        clock.addAndGet(2_000);
        assertEquals(5.0, delay.value(), "no newer event: the delay grows with the clock");
    }

    @Test
    void tenantsPastTheBoundShareOneSeries() {
        metrics.applied("a", clock.get() - 10);
        metrics.applied("b", clock.get() - 10);
        metrics.applied("c", clock.get() - 10);
        metrics.applied("d", clock.get() - 10);
        assertEquals(2, meters.get("tally.freshness").tag("tenant", BoundedLabels.OTHER).timer().count());
        assertEquals(3, meters.find("tally.freshness").timers().size());
    }
}
