package io.tally.subscription.api;

import io.micronaut.core.type.Argument;
import io.micronaut.serde.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.tally.model.RuleRecord;
import io.tally.results.ResultWindow;
import io.tally.results.RuleView;
import io.tally.results.StateReader;
import io.tally.results.StateUnavailableException;
import io.tally.rules.catalog.RuleCatalog;
import io.tally.subscription.config.SubscriptionConfig;
import io.tally.subscription.domain.Fanout;
import io.tally.model.JsonText;
import io.tally.subscription.domain.Messages;
import io.tally.subscription.domain.ResumeRegistry;
import io.tally.subscription.domain.Subscription;
import io.micronaut.websocket.WebSocketSession;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The subscription protocol (API.md, "Live subscriptions"): subscribe to a rule (optionally
 * filtered to groups) or a saved dashboard, unsubscribe; a snapshot first, then coalesced updates;
 * errors as messages on an open socket. Each socket's messages are handled in order on virtual
 * threads, never on the event loop.
 */
@Singleton
public class SubscriptionService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SubscriptionService.class);
    private static final Set<String> SUBSCRIBE_FIELDS = Set.of("op", "id", "ruleId", "dashboardId", "groups", "resumeVersion");
    private static final int MAX_ID_LENGTH = 200;

    private final RuleCatalog catalog;
    private final StateReader reader;
    private final Fanout fanout;
    private final Flusher flusher;
    private final DashboardClient dashboards;
    private final SubscriptionConfig config;
    private final ObjectMapper json;
    private final WindowRenderer renderer;
    private final Subscription.Pacing pacing;
    private final ResumeRegistry retained;
    private final ExecutorService lanes = Executors.newVirtualThreadPerTaskExecutor();
    private final ScheduledExecutorService pinger = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("subscription-pings").daemon().unstarted(r));
    private final Map<String, Connection> connections = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> perTenant = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();
    private final MeterRegistry meters;

    public SubscriptionService(RuleCatalog catalog, StateReader reader, Fanout fanout, Flusher flusher, DashboardClient dashboards,
                               SubscriptionConfig config, ObjectMapper json, WindowRenderer renderer, MeterRegistry meters) {
        this.catalog = catalog;
        this.reader = reader;
        this.fanout = fanout;
        this.flusher = flusher;
        this.dashboards = dashboards;
        this.config = config;
        this.json = json;
        this.renderer = renderer;
        this.meters = meters;
        this.pacing = new Subscription.Pacing(config.coalesce().toMillis(), config.sendBuffer(), config.stallTimeout().toMillis());
        this.retained = new ResumeRegistry(config.history().toMillis(), 100_000);
        catalog.addListener(this::ruleChanged);
        meters.gauge("tally.subscriptions.active", total);
        meters.gauge("tally.subscriptions.sockets", connections, Map::size);
        meters.gauge("tally.subscriptions.retained", retained, ResumeRegistry::size);
        // Sockets closed for not reading (or flooding), counted by Connection: there from the start, at 0.
        meters.counter("tally.subscriptions.closed", "reason", "slow-reader");
        meters.counter("tally.subscriptions.closed", "reason", "flooding");
        long ping = config.pingInterval().toMillis();
        pinger.scheduleAtFixedRate(this::ping, ping, ping, TimeUnit.MILLISECONDS);
    }

    void opened(WebSocketSession session, String tenant) {
        // Snapshots and errors may pass the pacing buffer a little; eight buffers unread and the socket is closed.
        connections.put(session.getId(), new Connection(session, tenant, lanes, 8 * config.sendBuffer(), meters));
    }

    void pong(WebSocketSession session) {
        Connection c = connections.get(session.getId());
        if (c != null) {
            c.lastPong = System.currentTimeMillis();
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
                long now = System.currentTimeMillis();
                for (Subscription s : List.copyOf(c.subscriptions().values())) {
                    String target = c.targets().get(s.id());
                    remove(c, s);
                    retained.retain(target, s, now);
                }
            });
        }
    }

    private void ping() {
        long now = System.currentTimeMillis();
        long limit = 2 * config.pingInterval().toMillis() + 1000;
        for (Connection c : connections.values()) {
            if (now - c.lastPong > limit) {
                c.close(1001, "no pong for " + (now - c.lastPong) / 1000 + " s");
            } else if (c.session().isOpen()) {
                ((io.micronaut.http.netty.websocket.NettyWebSocketSession) c.session()).sendPingAsync(new byte[] {'t'});
            }
        }
    }

    // ---- messages ----

    private void handle(Connection c, String text) {
        Map<String, Object> message;
        try {
            message = json.readValue(text, Argument.mapOf(String.class, Object.class));
        } catch (IOException | RuntimeException e) {
            c.send(Messages.error(null, 400, "Bad Request", "A message must be one JSON object, such as "
                + "{\"op\":\"subscribe\",\"id\":\"a\",\"ruleId\":\"…\"}.", ""));
            return;
        }
        if (message == null) {
            c.send(Messages.error(null, 400, "Bad Request", "A message must be one JSON object.", ""));
            return;
        }
        Object rawId = message.get("id");
        String id = rawId instanceof String s ? s : null;
        Object op = message.get("op");
        if (!(op instanceof String)) {
            c.send(Messages.error(id, 400, "Bad Request", "op must be \"subscribe\" or \"unsubscribe\".", "/op"));
            return;
        }
        if (id == null || id.isEmpty() || id.length() > MAX_ID_LENGTH) {
            c.send(Messages.error(null, 400, "Bad Request", "id must be a string of 1 to " + MAX_ID_LENGTH
                + " characters that names the subscription in every message about it.", "/id"));
            return;
        }
        switch ((String) op) {
            case "subscribe" -> subscribe(c, id, message);
            case "unsubscribe" -> unsubscribe(c, id, message);
            default -> c.send(Messages.error(id, 400, "Bad Request", "op must be \"subscribe\" or \"unsubscribe\", not " + JsonText.quote((String) op) + ".", "/op"));
        }
    }

    private void unsubscribe(Connection c, String id, Map<String, Object> message) {
        for (String field : message.keySet()) {
            if (!field.equals("op") && !field.equals("id")) {
                c.send(Messages.error(id, 400, "Bad Request", "unsubscribe takes only op and id; " + field + " is not one of them.", "/" + field));
                return;
            }
        }
        Subscription s = c.subscriptions().get(id);
        if (s == null) {
            c.send(Messages.error(id, 404, "Not Found", "This socket has no subscription " + JsonText.quote(id) + ".", "/id"));
            return;
        }
        remove(c, s);
        c.send(Messages.unsubscribed(id));
    }

    private record Target(String ruleId, String dashboardId, Map<String, String> filter, Long resumeVersion) {

        String key() {
            return ruleId != null ? "rule:" + ruleId + ":" + new TreeMap<>(filter) : "dashboard:" + dashboardId;
        }
    }

    private void subscribe(Connection c, String id, Map<String, Object> message) {
        Target target = target(c, id, message);
        if (target == null) {
            return;
        }
        if (c.subscriptions().containsKey(id)) {
            c.send(Messages.error(id, 409, "Conflict", "This socket already has a subscription " + JsonText.quote(id)
                + "; unsubscribe it first or choose another id.", "/id"));
            return;
        }
        if (c.subscriptions().size() >= config.perConnection()) {
            c.send(Messages.error(id, 429, "Too Many Requests", "A socket may hold " + config.perConnection()
                + " subscriptions; unsubscribe some or open another socket.", null));
            return;
        }
        AtomicInteger tenantCount = perTenant.computeIfAbsent(c.tenant(), t -> new AtomicInteger());
        if (tenantCount.get() >= config.perTenant()) {
            c.send(Messages.error(id, 429, "Too Many Requests", "The tenant holds " + config.perTenant()
                + " subscriptions on this instance, its limit; unsubscribe some first.", null));
            return;
        }
        if (!catalogReady(c, id)) {
            return;
        }
        // The rules and filters this subscription follows.
        List<DashboardClient.Query> queries;
        if (target.ruleId() != null) {
            Optional<RuleRecord> rule = catalog.get(c.tenant(), target.ruleId());
            if (rule.isEmpty()) {
                c.send(Messages.error(id, 404, "Not Found", "No rule " + JsonText.quote(target.ruleId()) + " for this tenant.", "/ruleId"));
                return;
            }
            for (String dim : target.filter().keySet()) {
                List<String> groupBy = rule.get().groupBy() == null ? List.of() : rule.get().groupBy();
                if (!groupBy.contains(dim)) {
                    c.send(Messages.error(id, 400, "Bad Request", "The rule does not group by " + dim + "; it groups by " + groupBy + ".",
                        "/groups/" + pointerEscape(dim)));
                    return;
                }
            }
            queries = List.of(new DashboardClient.Query(target.ruleId(), target.filter()));
        } else {
            try {
                Optional<List<DashboardClient.Query>> found = dashboards.queries(c.tenant(), target.dashboardId());
                if (found.isEmpty()) {
                    c.send(Messages.error(id, 404, "Not Found", "No dashboard " + JsonText.quote(target.dashboardId()) + " for this tenant.", "/dashboardId"));
                    return;
                }
                queries = found.get();
            } catch (DashboardClient.Unavailable e) {
                LOG.warn("Dashboard {} of tenant {} could not be read: {}", target.dashboardId(), c.tenant(), e.getMessage());
                c.send(Messages.error(id, 503, "Service Unavailable", "Dashboards cannot be read right now; subscribe again in a few seconds.", null));
                return;
            }
        }
        List<RuleRecord> rules = new ArrayList<>();
        for (DashboardClient.Query q : queries) {
            Optional<RuleRecord> rule = catalog.get(c.tenant(), q.ruleId());
            if (rule.isEmpty()) {
                c.send(Messages.error(id, 404, "Not Found", "The dashboard's rule " + JsonText.quote(q.ruleId()) + " no longer exists; fix the dashboard.", "/dashboardId"));
                return;
            }
            rules.add(rule.get());
        }

        // A resume continues a retained subscription's numbering and, when the history allows, its stream.
        long now = System.currentTimeMillis();
        Subscription previous = target.resumeVersion() == null ? null : retained.take(c.tenant(), id, target.key(), now).orElse(null);
        Subscription.Position[] at = previous == null ? null : previous.positionsAt(target.resumeVersion());
        if (at != null) {
            for (int i = 0; i < rules.size(); i++) {
                if (i >= previous.parts().size() || previous.parts().get(i).ruleVersion() != rules.get(i).version()
                    || !previous.parts().get(i).ruleId().equals(rules.get(i).id())) {
                    at = null; // the rule changed since: a snapshot of its new version
                    break;
                }
            }
        }
        long firstVersion = target.resumeVersion() == null ? 1
            : Math.max(target.resumeVersion(), previous == null ? 0 : previous.version()) + 1;
        Subscription s = new Subscription(c.tenant(), id, target.dashboardId(), c, pacing, firstVersion);
        for (int i = 0; i < queries.size(); i++) {
            s.addPart(queries.get(i).ruleId(), queries.get(i).groups(), rules.get(i).version());
        }
        c.subscriptions().put(id, s);
        c.targets().put(id, target.key());
        tenantCount.incrementAndGet();
        total.incrementAndGet();
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

    private Target target(Connection c, String id, Map<String, Object> message) {
        for (String field : message.keySet()) {
            if (!SUBSCRIBE_FIELDS.contains(field)) {
                c.send(Messages.error(id, 400, "Bad Request", field + " is not a field of subscribe; use ruleId or dashboardId, groups, resumeVersion.", "/" + pointerEscape(field)));
                return null;
            }
        }
        Object ruleId = message.get("ruleId");
        Object dashboardId = message.get("dashboardId");
        if ((ruleId == null) == (dashboardId == null)) {
            c.send(Messages.error(id, 400, "Bad Request", "subscribe needs exactly one of ruleId and dashboardId.", ruleId == null ? "/ruleId" : "/dashboardId"));
            return null;
        }
        if (ruleId != null && (!(ruleId instanceof String r) || r.isEmpty())) {
            c.send(Messages.error(id, 400, "Bad Request", "ruleId must be a rule's id (a string).", "/ruleId"));
            return null;
        }
        if (dashboardId != null && (!(dashboardId instanceof String d) || d.isEmpty())) {
            c.send(Messages.error(id, 400, "Bad Request", "dashboardId must be a dashboard's id (a string).", "/dashboardId"));
            return null;
        }
        Map<String, String> filter = new LinkedHashMap<>();
        Object groups = message.get("groups");
        if (groups != null) {
            if (dashboardId != null) {
                c.send(Messages.error(id, 400, "Bad Request", "groups applies to a rule; a dashboard's saved queries carry their own.", "/groups"));
                return null;
            }
            if (!(groups instanceof Map<?, ?> map)) {
                c.send(Messages.error(id, 400, "Bad Request", "groups must be an object of dimension → value, such as {\"category\":\"sports\"}.", "/groups"));
                return null;
            }
            for (Map.Entry<?, ?> e : map.entrySet()) {
                Object v = e.getValue();
                if (!(v instanceof String || v instanceof Number || v instanceof Boolean)) {
                    c.send(Messages.error(id, 400, "Bad Request", "a group value must be a string, number or boolean.", "/groups/" + pointerEscape(String.valueOf(e.getKey()))));
                    return null;
                }
                filter.put(String.valueOf(e.getKey()), v instanceof Double d && d == Math.rint(d) && !Double.isInfinite(d) ? Long.toString(d.longValue()) : String.valueOf(v));
            }
        }
        Long resumeVersion = null;
        Object resume = message.get("resumeVersion");
        if (resume != null) {
            if (!(resume instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue()) || n.longValue() < 0) {
                c.send(Messages.error(id, 400, "Bad Request", "resumeVersion must be the whole number of the last message the client received.", "/resumeVersion"));
                return null;
            }
            resumeVersion = n.longValue();
        }
        return new Target((String) ruleId, (String) dashboardId, filter, resumeVersion);
    }

    private boolean catalogReady(Connection c, String id) {
        if (catalog.isCaughtUp()) {
            return true;
        }
        try {
            if (catalog.awaitCaughtUp(java.time.Duration.ofSeconds(5))) {
                return true;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        c.send(Messages.error(id, 503, "Service Unavailable", "The subscription service is still reading the rules; subscribe again shortly.", null));
        return false;
    }

    private static String pointerEscape(String s) {
        return s.replace("~", "~0").replace("/", "~1");
    }

    private void remove(Connection c, Subscription s) {
        s.end();
        fanout.detach(s);
        if (c.subscriptions().remove(s.id(), s)) {
            c.targets().remove(s.id());
            perTenant.get(s.tenant()).decrementAndGet();
            total.decrementAndGet();
        }
    }

    // ---- snapshots ----

    private void snapshot(Subscription s) {
        long now = System.currentTimeMillis();
        List<Subscription.Part> parts = s.parts();
        long[] seqs = new long[parts.size()];
        long[] marks = new long[parts.size()];
        int[] versions = new int[parts.size()];
        StringBuilder windows = new StringBuilder("[");
        RuleView firstRule = null;
        StateReader.Snapshot firstSnapshot = null;
        try {
            for (Subscription.Part part : parts) {
                Optional<RuleRecord> record = catalog.get(s.tenant(), part.ruleId());
                if (record.isEmpty()) {
                    failAndRemove(s, 404, "Not Found", "Rule " + JsonText.quote(part.ruleId()) + " was deleted.");
                    return;
                }
                if (record.get().version() != part.ruleVersion()) {
                    s.resnapshot(part, record.get().version());
                }
                RuleView rule = RuleView.of(record.get());
                marks[part.index()] = fanout.mark(s.tenant(), part.ruleId()); // before the read: it covers these
                StateReader.Snapshot snapshot = reader.read(rule, rule.windowsOverlapping(now - 10 * rule.sizeMillis(), now));
                seqs[part.index()] = snapshot.seq();
                versions[part.index()] = rule.version();
                for (Subscription.Rendered window : renderer.render(rule, snapshot, part.filter())) {
                    if (windows.length() > 1) {
                        windows.append(',');
                    }
                    s.appendWindow(windows, part, window.json());
                }
                if (firstRule == null) {
                    firstRule = rule;
                    firstSnapshot = snapshot;
                }
            }
        } catch (io.tally.results.RuleState.ReadTooLarge e) {
            failAndRemove(s, 400, "Bad Request", "The rule's recent windows hold more values than one snapshot may (" + e.getMessage()
                + "); subscribe to some groups only (\"groups\": {\"<dimension>\": \"…\"}).");
            return;
        } catch (StateUnavailableException e) {
            LOG.warn("Snapshot of subscription {} (tenant {}) failed: {}", s.id(), s.tenant(), e.getMessage());
            failAndRemove(s, 503, "Service Unavailable", "Results cannot be read right now; subscribe again in a few seconds.");
            return;
        }
        windows.append(']');
        StringBuilder body = new StringBuilder();
        if (s.dashboardId() == null) {
            body.append(",\"ruleId\":").append(JsonText.quote(firstRule.id())).append(",\"ruleVersion\":").append(firstRule.version())
                .append(",\"watermark\":").append(firstSnapshot.watermark() == null ? "null" : JsonText.quote(ResultWindow.iso(firstSnapshot.watermark())))
                .append(",\"lateEvents\":").append(firstSnapshot.lateEvents());
        } else {
            body.append(",\"dashboardId\":").append(JsonText.quote(s.dashboardId()));
        }
        body.append(",\"windows\":").append(windows).append('}');
        if (s.deliverSnapshot(seqs, marks, versions, body.toString(), System.currentTimeMillis())) {
            flusher.markDirty(s);
        }
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
            } else if (change.rule().version() > part.ruleVersion()) {
                c.submit(() -> {
                    if (s.state() != Subscription.State.CLOSED && change.rule().version() > part.ruleVersion()) {
                        s.resnapshot(part, change.rule().version());
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
            c.session().close(new io.micronaut.websocket.CloseReason(1001, "the subscription service is shutting down; reconnect and resume"));
        }
        lanes.shutdown();
    }
}
