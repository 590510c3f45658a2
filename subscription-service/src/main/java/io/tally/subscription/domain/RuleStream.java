package io.tally.subscription.domain;

import io.tally.model.WindowUpdate;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One rule's updates put back in sequence order. Records of one read share a sequence and arrive as
 * {@code parts} records; records of reads by different aggregation instances may interleave out of
 * order. A read is released once all its parts are here and every earlier sequence was released;
 * a sequence that does not come within {@code gapWait} (its publisher failed before sending; its
 * changes come again under a later number) is skipped. Released reads are kept as a bounded
 * history for resumed subscriptions. Not thread-safe: the caller holds the rule's lock.
 */
public final class RuleStream {

    /** One complete read: every window it read, in window order. */
    public record Release(long seq, int ruleVersion, List<WindowUpdate> windows, long releasedAt) {
    }

    /** At most this many groups (over all held reads) per rule, so a rule with huge windows holds few reads. */
    static final int MAX_HELD_GROUPS = 50_000;

    private final int historySize;
    private final long historyAgeMillis;
    private final long gapWaitMillis;
    private final TreeMap<Long, TreeMap<Long, WindowUpdate>> waiting = new TreeMap<>();
    private final Deque<Release> history = new ArrayDeque<>();
    private long next = -1;
    private long blockedSince = -1;
    private boolean remembering;
    private int heldGroups;

    public RuleStream(int historySize, long historyAgeMillis, long gapWaitMillis) {
        this.historySize = historySize;
        this.historyAgeMillis = historyAgeMillis;
        this.gapWaitMillis = gapWaitMillis;
    }

    /** Takes one record; returns the reads it completed, in sequence order. */
    public List<Release> offer(WindowUpdate update, long now) {
        if (next >= 0 && update.seq() < next) {
            return List.of(); // released already (a re-sent record) or skipped as a gap
        }
        waiting.computeIfAbsent(update.seq(), s -> new TreeMap<>()).put(update.windowStart(), update);
        return drain(now);
    }

    /** Releases what waited for a gap that has now waited long enough. */
    public List<Release> tick(long now) {
        return waiting.isEmpty() ? List.of() : drain(now);
    }

    /**
     * Whether released reads are kept for resumes: only while the rule has (or just had) subscribers,
     * so rules nobody watches cost no memory here.
     */
    public void remember(boolean on) {
        remembering = on;
        if (!on) {
            history.clear();
            heldGroups = 0;
        }
    }

    public boolean hasWaiting() {
        return !waiting.isEmpty();
    }

    /** The last released sequence, or -1. */
    public long lastReleased() {
        return next - 1;
    }

    private List<Release> drain(long now) {
        List<Release> released = new ArrayList<>();
        while (!waiting.isEmpty()) {
            Map.Entry<Long, TreeMap<Long, WindowUpdate>> first = waiting.firstEntry();
            boolean complete = first.getValue().size() >= first.getValue().firstEntry().getValue().parts();
            if (next < 0 && complete) {
                next = first.getKey(); // the first read this instance sees completely
            }
            if (first.getKey() == next && complete) {
                waiting.pollFirstEntry();
                Release release = new Release(next, first.getValue().firstEntry().getValue().ruleVersion(),
                    List.copyOf(first.getValue().values()), now);
                remember(release);
                released.add(release);
                next++;
                blockedSince = -1;
                continue;
            }
            if (blockedSince < 0) {
                blockedSince = now;
            }
            if (now - blockedSince < gapWaitMillis) {
                break;
            }
            // Waited long enough: give up on what is missing (or incomplete) before the first waiting read.
            if (next >= 0 && first.getKey() > next) {
                next = first.getKey();
            } else {
                waiting.pollFirstEntry();
                if (next >= 0) {
                    next++;
                }
            }
            history.clear(); // a resume across the gap would miss changes
            blockedSince = -1;
        }
        return released;
    }

    private void remember(Release release) {
        if (!remembering) {
            return;
        }
        history.addLast(release);
        heldGroups += groups(release);
        while (history.size() > historySize || heldGroups > MAX_HELD_GROUPS
            || (!history.isEmpty() && history.peekFirst().releasedAt() < release.releasedAt() - historyAgeMillis)) {
            heldGroups -= groups(history.removeFirst());
        }
    }

    private static int groups(Release release) {
        int n = 0;
        for (WindowUpdate w : release.windows()) {
            n += Math.max(1, w.groups().size());
        }
        return n;
    }

    /**
     * Every read after sequence {@code seq} when the history still holds all of them without a gap
     * (possibly none); empty when it does not.
     */
    public Optional<List<Release>> since(long seq, long now) {
        if (seq > lastReleased() || seq < 0) {
            return Optional.empty();
        }
        if (seq == lastReleased()) {
            return Optional.of(List.of());
        }
        if (history.isEmpty() || history.peekFirst().seq() > seq + 1 || history.peekFirst().releasedAt() < now - historyAgeMillis) {
            return Optional.empty();
        }
        List<Release> after = new ArrayList<>();
        for (Iterator<Release> it = history.iterator(); it.hasNext(); ) {
            Release r = it.next();
            if (r.seq() > seq) {
                after.add(r);
            }
        }
        return Optional.of(after);
    }
}
