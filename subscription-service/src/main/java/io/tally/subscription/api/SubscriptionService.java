package io.tally.subscription.api;

import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.core.type.Argument;
import io.micronaut.http.netty.websocket.NettyWebSocketSession;
import io.micronaut.serde.ObjectMapper;
import io.micronaut.websocket.CloseReason;
import io.micronaut.websocket.WebSocketSession;
import io.tally.model.JsonPointer;
import io.tally.model.JsonText;
import io.tally.model.RuleRecord;
import io.tally.model.TimeSource;
import io.tally.rules.catalog.RuleCatalog;
import io.tally.subscription.config.SubscriptionConfig;
import io.tally.subscription.domain.ClientMessage;
import io.tally.subscription.domain.Fanout;
import io.tally.subscription.domain.Messages;
import io.tally.subscription.domain.ResumeRegistry;
import io.tally.subscription.domain.Subscription;
import io.tally.subscription.domain.SubscriptionQuotas;
import io.tally.subscription.messaging.TailFeed;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The subscription protocol (API.md, "Live subscriptions") over the service's sockets: subscribe to a rule
 * (optionally filtered to groups) or a saved dashboard, unsubscribe; a snapshot first ({@link SnapshotAssembler}),
 * then coalesced updates ({@link Fanout}, {@link Flusher}); errors as messages on an open socket. Each socket's
 * messages are handled in order on virtual threads, never on the event loop.
 */
@Singleton
public class SubscriptionService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SubscriptionService.class);

    private final RuleCatalog catalog;
    private final Fanout fanout;
    private final Flusher flusher;
    private final DashboardClient dashboards;
    private final SnapshotAssembler snapshots;
    private final SocketChannels channels;
    private final SubscriptionConfig config;
    private final ObjectMapper json;
    private final TimeSource time;
    private final MeterRegistry meters;
    private final Subscription.Pacing pacing;
    private final ResumeRegistry retained;
    private final SubscriptionQuotas quotas;
    private final ExecutorService lanes = Executors.newVirtualThreadPerTaskExecutor();
    private final ScheduledExecutorService pinger = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("subscription-pings").daemon().unstarted(r));
    private final Map<String, Connection> connections = new ConcurrentHashMap<>();
    private final TailFeed tails;

    public SubscriptionService(RuleCatalog catalog, Fanout fanout, Flusher flusher, DashboardClient dashboards, SnapshotAssembler snapshots,
                               SocketChannels channels, SubscriptionConfig config, ObjectMapper json, TimeSource time, MeterRegistry meters,
                               TailFeed tails) {
        this.tails = tails;
        this.catalog = catalog;
        this.fanout = fanout;
        this.flusher = flusher;
        this.dashboards = dashboards;
        this.snapshots = snapshots;
        this.channels = channels;
        this.config = config;
        this.json = json;
        this.time = time;
        this.meters = meters;
        this.pacing = new Subscription.Pacing(config.coalesce().toMillis(), config.sendBuffer(), config.stallTimeout().toMillis());
        this.retained = new ResumeRegistry(config.history().toMillis(), 100_000);
        this.quotas = new SubscriptionQuotas(config.perConnection(), config.perTenant());
        catalog.addListener(this::ruleChanged);
        meters.gauge("tally.subscriptions.active", quotas, SubscriptionQuotas::total);
        meters.gauge("tally.subscriptions.sockets", connections, Map::size);
        meters.gauge("tally.subscriptions.retained", retained, ResumeRegistry::size);
        // Sockets closed for not reading (or flooding), counted by Connection: there from the start, at 0.
        meters.counter("tally.subscriptions.closed", "reason", "slow-reader");
        meters.counter("tally.subscriptions.closed", "reason", "flooding");
        long ping = config.pingInterval().toMillis();
        pinger.scheduleAtFixedRate(this::ping, ping, ping, TimeUnit.MILLISECONDS);
    }

    // ---- sockets ----

    void opened(WebSocketSession session, String tenant) {
        // Snapshots and errors may pass the pacing buffer a little; eight buffers unread and the socket is closed.
        connections.put(session.getId(), new Connection(session, tenant, lanes, 8 * config.sendBuffer(), meters, channels, time.millis()));
    }

    void pong(WebSocketSession session) {
        Connection c = connections.get(session.getId());
        if (c != null) {
            c.ponged(time.millis());
        }
    }

    void received(WebSocketSession session, String text) {
        Connection c = connections.get(session.getId());
        if (c != null) {
            // Only a pong shows the client reads: one that only sends is closed like one that is gone.
            c.submit(() -> handle(c, text));
        }
    }

    void closed(WebSocketSession session) {
        Connection c = connections.remove(session.getId());
        if (c != null) {
            c.submit(() -> {
                c.tails().values().forEach(tail -> tails.remove(c.tenant(), tail));
                c.tails().clear();
                long now = time.millis();
                for (Subscription s : List.copyOf(c.subscriptions().values())) {
                    String target = c.targets().get(s.id());
                    remove(c, s);
                    retained.retain(target, s, now);
                }
            });
        }
    }

    private void ping() {
        long now = time.millis();
        long limit = 2 * config.pingInterval().toMillis() + 1000;
        for (Connection c : connections.values()) {
            long silent = c.silentFor(now);
            if (silent > limit) {
                c.close(1001, "no pong for " + silent / 1000 + " s");
            } else if (c.session().isOpen() && c.session() instanceof NettyWebSocketSession netty) {
                netty.sendPingAsync(new byte[] {'t'});
            }
        }
    }

    // ---- messages ----

    private void handle(Connection c, String text) {
        Map<String, Object> parsed;
        try {
            parsed = json.readValue(text, Argument.mapOf(String.class, Object.class));
        } catch (IOException | RuntimeException e) {
            parsed = null;
        }
        switch (ClientMessage.of(parsed)) {
            case ClientMessage.Invalid invalid -> c.send(invalid.json());
            case ClientMessage.Unsubscribe unsubscribe -> unsubscribe(c, unsubscribe.id());
            case ClientMessage.Subscribe subscribe -> subscribe(c, subscribe);
            case ClientMessage.Tail tail -> tail(c, tail.id());
        }
    }

    /** Event tails one socket may hold. */
    static final int TAILS_PER_SOCKET = 4;

    private void tail(Connection c, String id) {
        if (c.subscriptions().containsKey(id) || c.tails().containsKey(id)) {
            c.send(Messages.error(id, 409, "Conflict", "This socket already has a subscription " + JsonText.quote(id)
                + "; unsubscribe it first or choose another id.", "/id"));
            return;
        }
        if (c.tails().size() >= TAILS_PER_SOCKET) {
            c.send(Messages.error(id, 429, "Too Many Requests", "A socket follows at most " + TAILS_PER_SOCKET
                + " event tails (each shows the same events); unsubscribe one first.", null));
            return;
        }
        TailFeed.Tail tail = new TailFeed.Tail(id, c::send);
        c.tails().put(id, tail);
        tails.add(c.tenant(), tail);
    }

    private void unsubscribe(Connection c, String id) {
        TailFeed.Tail tail = c.tails().remove(id);
        if (tail != null) {
            tails.remove(c.tenant(), tail);
            c.send(Messages.unsubscribed(id));
            return;
        }
        Subscription s = c.subscriptions().get(id);
        if (s == null) {
            c.send(Messages.error(id, 404, "Not Found", "This socket has no subscription " + JsonText.quote(id) + ".", "/id"));
            return;
        }
        remove(c, s);
        c.send(Messages.unsubscribed(id));
    }

    private void subscribe(Connection c, ClientMessage.Subscribe request) {
        String id = request.id();
        if (c.subscriptions().containsKey(id) || c.tails().containsKey(id)) {
            c.send(Messages.error(id, 409, "Conflict", "This socket already has a subscription " + JsonText.quote(id)
                + "; unsubscribe it first or choose another id.", "/id"));
            return;
        }
        String refusal = quotas.refusal(c.tenant(), c.subscriptions().size());
        if (refusal != null) {
            c.send(Messages.error(id, 429, "Too Many Requests", refusal, null));
            return;
        }
        if (!catalogReady(c, id)) {
            return;
        }
        List<DashboardClient.Query> queries = queries(c, request);
        if (queries == null) {
            return;
        }
        List<RuleRecord> rules = new ArrayList<>();
        for (DashboardClient.Query q : queries) {
            Optional<RuleRecord> rule = catalog.serving(c.tenant(), q.ruleId());
            if (rule.isEmpty()) {
                c.send(Messages.error(id, 404, "Not Found", "The dashboard's rule " + JsonText.quote(q.ruleId()) + " no longer exists; fix the dashboard.", "/dashboardId"));
                return;
            }
            rules.add(rule.get());
        }

        // A resume continues a retained subscription's numbering and, when the history allows, its stream.
        Long resumeVersion = request.resumeVersion();
        Subscription previous = resumeVersion == null ? null : retained.take(c.tenant(), id, request.target(), time.millis()).orElse(null);
        Subscription.Position[] at = previous == null ? null : previous.positionsAt(resumeVersion);
        if (at != null) {
            for (int i = 0; i < rules.size(); i++) {
                if (i >= previous.parts().size() || previous.parts().get(i).ruleVersion() != rules.get(i).version()
                    || !previous.parts().get(i).ruleId().equals(rules.get(i).id())) {
                    at = null; // the rule changed since: a snapshot of its new version
                    break;
                }
            }
        }
        long firstVersion = resumeVersion == null ? 1 : Math.max(resumeVersion, previous == null ? 0 : previous.version()) + 1;
        Subscription s = new Subscription(c.tenant(), id, request.dashboardId(), c, pacing, firstVersion);
        for (int i = 0; i < queries.size(); i++) {
            s.addPart(queries.get(i).ruleId(), queries.get(i).groups(), rules.get(i).version());
        }
        c.subscriptions().put(id, s);
        c.targets().put(id, request.target());
        quotas.added(c.tenant());
        // Listen first, then read: whatever changes meanwhile is held and compared with the snapshot.
        boolean resumed = true;
        for (Subscription.Part part : s.parts()) {
            Subscription.Position p = at == null ? null : at[part.index()];
            resumed &= fanout.attach(part, p == null ? -1 : p.mark(), p == null ? -1 : p.seq());
        }
        if (resumed) {
            if (s.resumed()) {
                flusher.markDirty(s);
            }
        } else {
            snapshot(s);
        }
    }

    /** The rules and filters a subscription follows, or null when an error was sent instead. */
    private List<DashboardClient.Query> queries(Connection c, ClientMessage.Subscribe request) {
        String id = request.id();
        if (request.ruleId() != null) {
            Optional<RuleRecord> rule = catalog.serving(c.tenant(), request.ruleId());
            if (rule.isEmpty()) {
                c.send(Messages.error(id, 404, "Not Found", "No rule " + JsonText.quote(request.ruleId()) + " for this tenant.", "/ruleId"));
                return null;
            }
            List<String> groupBy = rule.get().groupBy() == null ? List.of() : rule.get().groupBy();
            for (String dim : request.groups().keySet()) {
                if (!groupBy.contains(dim)) {
                    c.send(Messages.error(id, 400, "Bad Request", "The rule does not group by " + dim + "; it groups by " + groupBy + ".",
                        JsonPointer.child("/groups", dim)));
                    return null;
                }
            }
            return List.of(new DashboardClient.Query(request.ruleId(), request.groups()));
        }
        try {
            Optional<List<DashboardClient.Query>> found = dashboards.queries(c.tenant(), request.dashboardId());
            if (found.isEmpty()) {
                c.send(Messages.error(id, 404, "Not Found", "No dashboard " + JsonText.quote(request.dashboardId()) + " for this tenant.", "/dashboardId"));
                return null;
            }
            return found.get();
        } catch (DashboardClient.Unavailable e) {
            LOG.warn("Dashboard {} of tenant {} could not be read: {}", request.dashboardId(), c.tenant(), e.getMessage());
            c.send(Messages.error(id, 503, "Service Unavailable", "Dashboards cannot be read right now; subscribe again in a few seconds.", null));
            return null;
        }
    }

    private boolean catalogReady(Connection c, String id) {
        if (catalog.isCaughtUp()) {
            return true;
        }
        try {
            if (catalog.awaitCaughtUp(Duration.ofSeconds(5))) {
                return true;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        c.send(Messages.error(id, 503, "Service Unavailable", "The subscription service is still reading the rules; subscribe again shortly.", null));
        return false;
    }

    private void remove(Connection c, Subscription s) {
        s.end();
        fanout.detach(s);
        if (c.subscriptions().remove(s.id(), s)) {
            c.targets().remove(s.id());
            quotas.removed(s.tenant());
        }
    }

    private void snapshot(Subscription s) {
        snapshots.deliver(s).ifPresent(f -> failAndRemove(s, f.status(), f.title(), f.detail()));
    }

    private void failAndRemove(Subscription s, int status, String title, String detail) {
        Connection c = (Connection) s.sink();
        s.fail(status, title, detail);
        remove(c, s);
    }

    /** A rule changed on {@code tally.rules}: subscribers of a deleted rule get an error, of a new version a new snapshot. */
    private void ruleChanged(RuleCatalog.Change change) {
        for (Subscription.Part part : fanout.parts(change.tenant(), change.id())) {
            Subscription s = part.subscription();
            Connection c = (Connection) s.sink();
            if (change.rule() == null) {
                c.submit(() -> failAndRemove(s, 404, "Not Found", "Rule " + JsonText.quote(change.id()) + " was deleted."));
            } else if (change.rule().serving().version() > part.ruleVersion()) {
                // A new version serving (a backfilled one once it switched over): one snapshot of it, never a mix.
                int serving = change.rule().serving().version();
                c.submit(() -> {
                    if (s.state() != Subscription.State.CLOSED && serving > part.ruleVersion()) {
                        s.resnapshot(part, serving);
                        snapshot(s);
                    }
                });
            }
        }
    }

    @PreDestroy
    @Override
    public void close() {
        pinger.shutdownNow();
        for (Connection c : connections.values()) {
            c.session().close(new CloseReason(1001, "the subscription service is shutting down; reconnect and resume"));
        }
        lanes.shutdown();
    }
}
