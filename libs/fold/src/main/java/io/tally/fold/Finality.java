package io.tally.fold;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.OptionalLong;

/**
 * When a tenant's windows become final. Each partition has the tenant's watermark (the highest event time it
 * saw from the tenant), the wall-clock time it last saw the tenant's events, and the last wall-clock time the
 * engine had read everything the partition held (caught up). The tenant's finality watermark is the lowest
 * over the partitions that ever saw the tenant, where a partition that stayed caught up without the tenant's
 * events for longer than the idle timeout advances by wall clock from then on (what Flink calls idleness):
 * windows close without new data, and a partition that stopped receiving the tenant's events holds no one
 * back. Idleness counts only time the engine was caught up: while it is down or behind (events waiting to be
 * read), nothing advances, so a backlog is never made late by the time it waited. A rule is closed up to the
 * latest window close ({@code end + allowedLateness}) at or before it; from then on an event for a closed
 * window counts as late, so a window served final never changes.
 */
public final class Finality {

    /**
     * One partition's clock for a tenant: its watermark, when (wall clock) it last had the tenant's events, and
     * when the engine was last caught up with the partition (0: never known). {@code watermark} is
     * {@link Long#MIN_VALUE} on a partition that has not seen the tenant (yet).
     */
    public record PartitionClock(long watermark, long lastSeenMillis, long caughtUpMillis) {

        boolean sawTenant() {
            return watermark != Long.MIN_VALUE;
        }
    }

    /** How recent a caught-up mark must be for the partition to count as caught up now (marks come twice a second). */
    static final long CAUGHT_UP_FRESHNESS_MILLIS = 5_000;

    private Finality() {
    }

    /**
     * The tenant's finality watermark over every partition of the topic, or empty when there is none yet: no
     * partition saw the tenant, or one that did not is not caught up now (it may hold the tenant's events
     * still unread, so nothing can close). A partition caught up now that never saw the tenant holds no one back.
     */
    public static OptionalLong watermark(Collection<PartitionClock> partitions, long nowMillis, long idleTimeoutMillis) {
        long min = Long.MAX_VALUE;
        boolean seen = false;
        for (PartitionClock p : partitions) {
            if (!p.sawTenant()) {
                if (nowMillis - p.caughtUpMillis() > CAUGHT_UP_FRESHNESS_MILLIS) {
                    return OptionalLong.empty();
                }
                continue;
            }
            seen = true;
            long idleFor = p.caughtUpMillis() - idleTimeoutMillis - p.lastSeenMillis();
            long effective = idleFor > 0 ? saturatedAdd(p.watermark(), idleFor) : p.watermark();
            min = Math.min(min, effective);
        }
        return seen ? OptionalLong.of(min) : OptionalLong.empty();
    }

    /** The latest window close of the rule ({@code start + size + lateness}) at or before {@code watermark}. */
    public static long closedUpTo(CompiledRule rule, long watermark) {
        long size = rule.windows().sizeMillis();
        long slide = rule.windows().slideMillis();
        long start = Math.floorDiv(watermark - size - rule.latenessMillis(), slide) * slide;
        return start + size + rule.latenessMillis();
    }

    /** Whether the rule's window starting at {@code start} is closed once the rule is closed up to {@code closedUpTo}. */
    public static boolean isClosed(CompiledRule rule, long start, long closedUpTo) {
        return start + rule.windows().sizeMillis() + rule.latenessMillis() <= closedUpTo;
    }

    /**
     * The starts of the windows that closed when the rule's mark moved from {@code before} to {@code after},
     * newest last, at most {@code limit} of them (the newest: a mark moving for the first time closes all history).
     */
    public static List<Long> closedBetween(CompiledRule rule, long before, long after, int limit) {
        long size = rule.windows().sizeMillis();
        long slide = rule.windows().slideMillis();
        long lateness = rule.latenessMillis();
        List<Long> starts = new ArrayList<>();
        long newest = after - size - lateness;
        for (long s = newest; s + size + lateness > before && starts.size() < limit; s -= slide) {
            starts.addFirst(s);
        }
        return starts;
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
    }
}
