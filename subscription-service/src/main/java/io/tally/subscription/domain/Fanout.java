package io.tally.subscription.domain;

import io.tally.model.WindowUpdate;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Routes every rule's updates to the subscriptions that want them: an index from (tenant, rule) to
 * subscribed parts, so a change costs work only for its own subscribers. Each rule's records are
 * put in sequence order ({@link RuleStream}) and each complete read is rendered once per distinct
 * group filter, then offered to the parts. A subscription with something to send is handed to
 * {@code dirty} (the flusher).
 */
public final class Fanout {

    /** What one window looks like to a client: the contract's window shape as JSON. */
    public interface Renderer {
        /** The window's JSON with the groups matching {@code filter}, or null when none match. */
        String render(WindowUpdate window, Map<String, String> filter);
    }

    private record Key(String tenant, String ruleId) {
    }

    private static final class Channel {
        final RuleStream stream;
        final List<Subscription.Part> parts = new ArrayList<>();
        long lastWatched = Long.MIN_VALUE / 2; // when it last had a subscriber

        Channel(RuleStream stream) {
            this.stream = stream;
        }
    }

    private final Map<Key, Channel> channels = new ConcurrentHashMap<>();
    private final Function<String, RuleStream> streams;
    private final Renderer renderer;
    private final Consumer<Subscription> dirty;
    private final LongSupplier clock;

    private final long historyMillis;

    public Fanout(Function<String, RuleStream> streams, long historyMillis, Renderer renderer, Consumer<Subscription> dirty, LongSupplier clock) {
        this.streams = streams;
        this.historyMillis = historyMillis;
        this.renderer = renderer;
        this.dirty = dirty;
        this.clock = clock;
    }

    private Channel channel(String tenant, String ruleId) {
        return channels.computeIfAbsent(new Key(tenant, ruleId), k -> new Channel(streams.apply(k.tenant() + ":" + k.ruleId())));
    }

    /** One record from {@code tally.updates}. */
    public void offer(WindowUpdate update) {
        Channel channel = channel(update.tenant(), update.ruleId());
        long now = clock.getAsLong();
        synchronized (channel) {
            if (!channel.parts.isEmpty()) {
                channel.lastWatched = now;
            }
            channel.stream.remember(now - channel.lastWatched <= historyMillis);
            deliver(channel, channel.stream.offer(update, now));
        }
    }

    /** Releases reads that waited for a missing sequence long enough. */
    public void tick() {
        long now = clock.getAsLong();
        for (Channel channel : channels.values()) {
            synchronized (channel) {
                if (channel.stream.hasWaiting()) {
                    deliver(channel, channel.stream.tick(now));
                }
            }
        }
    }

    private void deliver(Channel channel, List<RuleStream.Release> releases) {
        for (RuleStream.Release release : releases) {
            if (channel.parts.isEmpty()) {
                continue;
            }
            Map<Map<String, String>, List<Subscription.Rendered>> byFilter = new HashMap<>();
            for (Subscription.Part part : channel.parts) {
                List<Subscription.Rendered> windows = byFilter.computeIfAbsent(part.filter(), f -> render(release, f));
                if (part.offer(release.seq(), release.ruleVersion(), windows)) {
                    dirty.accept(part.subscription());
                }
            }
        }
    }

    private List<Subscription.Rendered> render(RuleStream.Release release, Map<String, String> filter) {
        List<Subscription.Rendered> windows = new ArrayList<>(release.windows().size());
        for (WindowUpdate w : release.windows()) {
            String json = renderer.render(w, filter);
            if (json != null) {
                windows.add(new Subscription.Rendered(w.windowStart(), json));
            }
        }
        return windows;
    }

    /**
     * Starts delivering a part's rule to it. With {@code resumeAfter} ≥ 0, when the history still
     * holds every read after that sequence (for the part's rule version), the part continues from
     * there: those reads are offered at once, in the same lock as the attachment, so none is missed
     * or repeated, and true is returned. Otherwise the part waits for a snapshot (false).
     */
    public boolean attach(Subscription.Part part, long resumeAfter) {
        Channel channel = channel(part.subscription().tenant(), part.ruleId());
        synchronized (channel) {
            channel.parts.add(part);
            channel.lastWatched = clock.getAsLong();
            channel.stream.remember(true);
            if (resumeAfter < 0) {
                return false;
            }
            Optional<List<RuleStream.Release>> since = channel.stream.since(resumeAfter, clock.getAsLong());
            if (since.isEmpty() || since.get().stream().anyMatch(r -> r.ruleVersion() != part.ruleVersion())) {
                return false;
            }
            part.continueAfter(resumeAfter);
            for (RuleStream.Release release : since.get()) {
                part.offer(release.seq(), release.ruleVersion(), render(release, part.filter()));
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

    /** How many rules have a channel (for metrics). */
    public int rules() {
        return channels.size();
    }
}
