package io.tally.fold;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * How long a tenant's event ids are remembered on a partition, and where. The contract counts an id once while
 * any window of it is open, whatever its category, time or other fields: a window of an event at time t is
 * open while the partition's watermark is below {@code t + size + lateness} (the tenant's horizon). An id is kept
 * in the generation of the watermark its event leaves, {@code a = max(watermark before, t)}, each generation as
 * wide as the horizon rounded up to a {@link #LADDER} step; a later copy is looked up from the watermark before
 * it, {@code w}, in w's generation and the one before. While a window of the first event is open,
 * {@code a <= w < t + horizon <= a + width}, so those two generations hold it; and memory holds at most two
 * generations of ids (plus the expiry margin). (Kept at the watermark before its event instead, an id that moved a
 * watermark hours old would sit in a generation no later look-up reaches.)
 */
public final class DedupHorizon {

    /** Generation widths: fixed steps, so a tenant's keys stay the same while its rules' horizons move within one. */
    static final List<Long> LADDER = List.of(
        TimeUnit.MINUTES.toMillis(1), TimeUnit.MINUTES.toMillis(2), TimeUnit.MINUTES.toMillis(5), TimeUnit.MINUTES.toMillis(10),
        TimeUnit.MINUTES.toMillis(15), TimeUnit.MINUTES.toMillis(30), TimeUnit.HOURS.toMillis(1), TimeUnit.HOURS.toMillis(2),
        TimeUnit.HOURS.toMillis(3), TimeUnit.HOURS.toMillis(6), TimeUnit.HOURS.toMillis(12), TimeUnit.DAYS.toMillis(1),
        TimeUnit.DAYS.toMillis(2));

    /** One generation of ids: those that arrived while the watermark was in {@code [index × width, (index + 1) × width)}. */
    public record Generation(long widthMillis, long index) implements Comparable<Generation> {

        @Override
        public int compareTo(Generation o) {
            return widthMillis != o.widthMillis ? Long.compare(widthMillis, o.widthMillis) : Long.compare(index, o.index);
        }
    }

    private DedupHorizon() {
    }

    /** The generation width for a tenant whose rules' longest horizon (size + lateness) is {@code horizonMillis}. */
    public static long widthFor(long horizonMillis) {
        for (long width : LADDER) {
            if (width >= horizonMillis) {
                return width;
            }
        }
        return LADDER.getLast();
    }

    /** The generation an id arriving at watermark {@code arrivalMillis} is kept in. */
    public static Generation generation(long arrivalMillis, long widthMillis) {
        return new Generation(widthMillis, Math.floorDiv(arrivalMillis, widthMillis));
    }

    /**
     * The generations a batch must look its ids up in: the watermark starts at {@code watermarkAtStart}
     * ({@link Long#MIN_VALUE} when the tenant is new here) and rises with each event time, and every arrival
     * looks in its generation and the one before.
     */
    public static Set<Generation> toCheck(long watermarkAtStart, long[] eventTimes, long widthMillis) {
        Set<Generation> generations = new TreeSet<>();
        long watermark = watermarkAtStart;
        for (long time : eventTimes) {
            long arrival = watermark == Long.MIN_VALUE ? time : watermark;
            Generation g = generation(arrival, widthMillis);
            generations.add(g);
            generations.add(new Generation(widthMillis, g.index() - 1));
            watermark = Math.max(watermark, time);
        }
        return generations;
    }

    /** How long after its last write a generation's key must live: two widths and a margin. */
    public static long keyLifetimeMillis(long widthMillis) {
        return 2 * widthMillis + TimeUnit.MINUTES.toMillis(5);
    }
}
