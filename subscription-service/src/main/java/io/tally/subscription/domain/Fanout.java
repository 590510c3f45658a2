package io.tally.subscription.domain;

import io.github.resilience4j.core.IntervalFunction;
import io.opentelemetry.context.Context;
import io.tally.model.RuleChange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Turns the aggregation's change announcements ({@link RuleChange}: which windows of a rule changed)
 * into updates for the subscriptions that want them. An index from (tenant, rule) to subscribed parts
 * means a change costs work only for a rule somebody watches; for such a rule, the changed windows
 * are read from the state store (their full current values, atomically with the rule's sequence) and
 * rendered once per distinct group filter, then offered to the parts. A subscription with something
 * to send is handed to {@code dirty} (the flusher).
 * <p>
 * Each rule has one reader at a time ({@link #drain}): changes announced while a read runs are
 * collected and read together next, so a busy rule costs one read per read time, not one per change,
 * and reads of a rule are delivered in the order they were made — a window's values never go down.
 * A read covers every announcement that arrived before it started; announcements are numbered per
 * rule on arrival, and while a rule is (or just was) watched the recent ones are kept so a resumed
 * subscription can be sent exactly the windows that changed after the last message it had.
 */
public final class Fanout {

    private static final Logger LOG = LoggerFactory.getLogger(Fanout.class);

    /** Where current window values come from. */
    public interface Source {
        /**
         * The current values of these windows of the rule's current version, or null when the rule
         * is gone. May block; throws when the store cannot be read.
         */
        Read read(String tenant, String ruleId, List<Long> starts);
    }

    /** Told of each delivery, for metrics and traces. */
    public interface Pushes {
        /**
         * Subscriptions of a rule were offered what changed: the oldest announcement they cover was made at
         * {@code announcedAt}, the read began at {@code readAt} (both wall-clock milliseconds), and one of the
         * announcements carried {@code trace} (a sampled trace context, or null).
         */
        void pushed(String tenant, String ruleId, long announcedAt, long readAt, Context trace, int subscriptions);

        Pushes NONE = (tenant, ruleId, announcedAt, readAt, trace, subscriptions) -> { };
    }

    /** One read of a rule's windows. */
    public interface Read {
        /** The rule's update sequence the values were read at: reads with a higher one are newer. */
        long seq();

        int ruleVersion();

        /** The windows read that have groups matching {@code filter}, rendered as in results. */
        List<Subscription.Rendered> render(Map<String, String> filter);
    }

    private record Key(String tenant, String ruleId) {
    }

    private record Arrival(long number, List<Long> windows, long at) {
    }

    private static final class Channel {
        final Key key;
        final List<Subscription.Part> parts = new ArrayList<>();
        final Deque<Arrival> history = new ArrayDeque<>();
        final TreeSet<Long> dirty = new TreeSet<>();
        final Map<Subscription.Part, Set<Long>> extras = new IdentityHashMap<>();
        long lastWatched = Long.MIN_VALUE / 2; // when it last had a subscriber
        long arrivals;                        // announcements counted so far
        long coveredAfter;                    // the history holds every announcement numbered above this
        boolean remembering;
        boolean reading;
        boolean failing; // the last read failed: said once in the log, not once a second
        long pendingSince = Long.MAX_VALUE;   // when the oldest announcement not yet read was made
        Context trace;                        // a sampled trace one of those announcements carried

        Channel(Key key) {
            this.key = key;
        }
    }

    private final Map<Key, Channel> channels = new ConcurrentHashMap<>();
    private final Source source;
    private final Executor readers;
    private final Consumer<Subscription> dirty;
    private final LongSupplier clock;
    private final long historyMillis;
    private final int historySize;
    private final long retryMillis;
    /** After a failed read: 50 ms doubling up to {@link #retryMillis}, each ±50 % (resilience4j), so readers do not retry in step. */
    private final IntervalFunction retry;
    private Pushes pushes = Pushes.NONE;

    /**
     * @param readers runs each rule's reader (it blocks on the store)
     * @param historyMillis how long announcements are kept for resumes, and how long after its last
     *                      subscriber a rule still keeps them
     * @param historySize at most this many announcements per rule
     * @param retryMillis how long a reader waits at most after a failed read before it tries again
     */
    public Fanout(Source source, Executor readers, long historyMillis, int historySize, long retryMillis,
                  Consumer<Subscription> dirty, LongSupplier clock) {
        this.source = source;
        this.readers = readers;
        this.historyMillis = historyMillis;
        this.historySize = historySize;
        this.retryMillis = retryMillis;
        this.retry = retryMillis < 1 ? attempt -> 0L : IntervalFunction.ofExponentialRandomBackoff(Math.min(50, retryMillis), 2.0, 0.5, retryMillis);
        this.dirty = dirty;
        this.clock = clock;
    }

    /** Who is told of each delivery (nobody by default). */
    public Fanout observedBy(Pushes pushes) {
        this.pushes = pushes;
        return this;
    }

    private Channel channel(String tenant, String ruleId) {
        return channels.computeIfAbsent(new Key(tenant, ruleId), Channel::new);
    }

    /** One announcement from {@code tally.updates}, made now, not traced. */
    public void offer(RuleChange change) {
        offer(change, clock.getAsLong(), null);
    }

    /** One announcement from {@code tally.updates}, made at {@code announcedAt}, carrying {@code trace} (or null). */
    public void offer(RuleChange change, long announcedAt, Context trace) {
        Channel channel = channel(change.tenant(), change.ruleId());
        long now = clock.getAsLong();
        synchronized (channel) {
            if (!channel.parts.isEmpty()) {
                channel.lastWatched = now;
            }
            remember(channel, now - channel.lastWatched <= historyMillis);
            channel.arrivals++;
            if (channel.remembering) {
                channel.history.addLast(new Arrival(channel.arrivals, List.copyOf(change.windows()), now));
                trim(channel, now);
            }
            if (!channel.parts.isEmpty()) {
                channel.dirty.addAll(change.windows());
                channel.pendingSince = Math.min(channel.pendingSince, announcedAt);
                if (channel.trace == null) {
                    channel.trace = trace;
                }
                schedule(channel);
            }
        }
    }

    /** Keeps announcements only while the rule has (or just had) subscribers: rules nobody watches cost no memory. */
    private static void remember(Channel channel, boolean on) {
        if (on && !channel.remembering) {
            channel.coveredAfter = channel.arrivals; // nothing earlier is held
        }
        if (!on) {
            channel.history.clear();
        }
        channel.remembering = on;
    }

    private void trim(Channel channel, long now) {
        while (!channel.history.isEmpty() && (channel.history.size() > historySize || channel.history.peekFirst().at() < now - historyMillis)) {
            channel.coveredAfter = channel.history.removeFirst().number();
        }
    }

    private void schedule(Channel channel) {
        if (!channel.reading) {
            channel.reading = true;
            readers.execute(() -> drain(channel));
        }
    }

    /** The rule's reader: reads what changed, delivers it, and again while more changed meanwhile. */
    private void drain(Channel channel) {
        int failures = 0;
        while (true) {
            TreeSet<Long> shared;
            Map<Subscription.Part, Set<Long>> extras;
            long mark;
            long since;
            Context trace;
            synchronized (channel) {
                if (channel.parts.isEmpty() || (channel.dirty.isEmpty() && channel.extras.isEmpty())) {
                    channel.dirty.clear();
                    channel.extras.clear();
                    channel.reading = false;
                    return;
                }
                shared = new TreeSet<>(channel.dirty);
                extras = new IdentityHashMap<>(channel.extras);
                channel.dirty.clear();
                channel.extras.clear();
                mark = channel.arrivals;
                since = channel.pendingSince;
                trace = channel.trace;
                channel.pendingSince = Long.MAX_VALUE;
                channel.trace = null;
            }
            long readAt = clock.getAsLong();
            TreeSet<Long> all = new TreeSet<>(shared);
            extras.values().forEach(all::addAll);
            Read read;
            try {
                read = source.read(channel.key.tenant(), channel.key.ruleId(), List.copyOf(all));
            } catch (RuntimeException e) {
                if (!channel.failing) {
                    LOG.warn("Reading the changed windows of rule {} (tenant {}) failed; trying again within {} ms: {}",
                        channel.key.ruleId(), channel.key.tenant(), retryMillis, e.toString());
                    channel.failing = true;
                }
                synchronized (channel) {
                    channel.pendingSince = Math.min(channel.pendingSince, since);
                    channel.trace = channel.trace == null ? trace : channel.trace;
                    channel.dirty.addAll(shared);
                    extras.forEach((part, windows) -> channel.extras.computeIfAbsent(part, p -> new TreeSet<>()).addAll(windows));
                }
                if (!sleep(retry.apply(++failures))) {
                    synchronized (channel) {
                        channel.reading = false; // shutting down
                    }
                    return;
                }
                continue;
            }
            failures = 0;
            if (channel.failing) {
                LOG.info("Reading the changed windows of rule {} (tenant {}) works again", channel.key.ruleId(), channel.key.tenant());
                channel.failing = false;
            }
            if (read != null) {
                int offered = deliver(channel, read, shared, extras, mark);
                if (offered > 0) {
                    pushes.pushed(channel.key.tenant(), channel.key.ruleId(), since == Long.MAX_VALUE ? readAt : since, readAt, trace, offered);
                }
            }
        }
    }

    /** Offers the read to the rule's subscriptions; returns how many took something. */
    private int deliver(Channel channel, Read read, Set<Long> shared, Map<Subscription.Part, Set<Long>> extras, long mark) {
        int offered = 0;
        synchronized (channel) {
            Map<Map<String, String>, List<Subscription.Rendered>> byFilter = new HashMap<>();
            for (Subscription.Part part : channel.parts) {
                if (part.ruleVersion() != read.ruleVersion()) {
                    continue; // it is getting a snapshot of the version it follows now
                }
                List<Subscription.Rendered> rendered = byFilter.computeIfAbsent(part.filter(), read::render);
                Set<Long> own = extras.get(part);
                List<Subscription.Rendered> windows = new ArrayList<>(rendered.size());
                for (Subscription.Rendered w : rendered) {
                    if (shared.contains(w.start()) || (own != null && own.contains(w.start()))) {
                        windows.add(w);
                    }
                }
                if (part.offer(read.seq(), mark, read.ruleVersion(), windows)) {
                    dirty.accept(part.subscription());
                    offered++;
                }
            }
        }
        return offered;
    }

    /** How many announcements of the rule arrived so far: a read starting now covers all of them. */
    public long mark(String tenant, String ruleId) {
        Channel channel = channel(tenant, ruleId);
        synchronized (channel) {
            return channel.arrivals;
        }
    }

    /**
     * Starts delivering a part's rule to it. With {@code resumeMark} ≥ 0 (the announcements the
     * resumed subscription's last message covered) and the history still holding every announcement
     * after it, the part continues from there: the windows announced since are read for it, through
     * the rule's reader so they come in order with everything else, and true is returned. Otherwise the
     * part waits for a snapshot (false).
     */
    public boolean attach(Subscription.Part part, long resumeMark, long resumeSeq) {
        Channel channel = channel(part.subscription().tenant(), part.ruleId());
        long now = clock.getAsLong();
        synchronized (channel) {
            channel.parts.add(part);
            channel.lastWatched = now;
            remember(channel, true);
            trim(channel, now);
            if (resumeMark < 0 || resumeMark < channel.coveredAfter || resumeMark > channel.arrivals) {
                return false;
            }
            part.continueAfter(resumeSeq, resumeMark);
            TreeSet<Long> windows = new TreeSet<>();
            for (Arrival a : channel.history) {
                if (a.number() > resumeMark) {
                    windows.addAll(a.windows());
                }
            }
            if (!windows.isEmpty()) {
                channel.extras.computeIfAbsent(part, p -> new TreeSet<>()).addAll(windows);
                schedule(channel);
            }
            return true;
        }
    }

    public void detach(Subscription subscription) {
        for (Subscription.Part part : subscription.parts()) {
            Channel channel = channels.get(new Key(subscription.tenant(), part.ruleId()));
            if (channel != null) {
                synchronized (channel) {
                    channel.parts.remove(part);
                    channel.extras.remove(part);
                    channel.lastWatched = clock.getAsLong();
                }
            }
        }
    }

    /** The subscribed parts of one rule (for rule changes and deletions). */
    public List<Subscription.Part> parts(String tenant, String ruleId) {
        Channel channel = channels.get(new Key(tenant, ruleId));
        if (channel == null) {
            return List.of();
        }
        synchronized (channel) {
            return List.copyOf(channel.parts);
        }
    }

    /** Stops the readers (on shutdown). */
    public void close() {
        if (readers instanceof ExecutorService service) {
            service.shutdownNow();
        }
    }

    /** How many rules have a channel (for metrics). */
    public int rules() {
        return channels.size();
    }

    private static boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
