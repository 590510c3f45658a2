package io.tally.subscription.api;

import io.tally.model.JsonText;
import io.tally.model.RuleRecord;
import io.tally.model.TimeSource;
import io.tally.results.ResultWindow;
import io.tally.results.RuleState;
import io.tally.results.StateReader;
import io.tally.results.StateUnavailableException;
import io.tally.rule.RuleSpec;
import io.tally.rules.catalog.RuleCatalog;
import io.tally.subscription.domain.Fanout;
import io.tally.subscription.domain.Subscription;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Optional;

/**
 * A subscription's snapshot: the recent windows of each of its rules read from the state store, each with the
 * update sequence and fan-out mark it covers, assembled into one message and handed to the subscription.
 */
@Singleton
public class SnapshotAssembler {

    /** Why a snapshot could not be made: the subscription ends with this error. */
    public record Failure(int status, String title, String detail) {
    }

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotAssembler.class);

    private final RuleCatalog catalog;
    private final StateReader reader;
    private final Fanout fanout;
    private final WindowRenderer renderer;
    private final Flusher flusher;
    private final TimeSource time;

    public SnapshotAssembler(RuleCatalog catalog, StateReader reader, Fanout fanout, WindowRenderer renderer, Flusher flusher, TimeSource time) {
        this.catalog = catalog;
        this.reader = reader;
        this.fanout = fanout;
        this.renderer = renderer;
        this.flusher = flusher;
        this.time = time;
    }

    /** Reads and delivers the subscription's snapshot (the windows of the last ten window sizes); empty when delivered. */
    public Optional<Failure> deliver(Subscription s) {
        long now = time.millis();
        List<Subscription.Part> parts = s.parts();
        long[] seqs = new long[parts.size()];
        long[] marks = new long[parts.size()];
        int[] versions = new int[parts.size()];
        StringBuilder windows = new StringBuilder("[");
        RuleSpec firstRule = null;
        StateReader.Snapshot firstSnapshot = null;
        try {
            for (Subscription.Part part : parts) {
                Optional<RuleRecord> record = catalog.serving(s.tenant(), part.ruleId());
                if (record.isEmpty()) {
                    return Optional.of(new Failure(404, "Not Found", "Rule " + JsonText.quote(part.ruleId()) + " was deleted."));
                }
                if (record.get().version() != part.ruleVersion()) {
                    s.resnapshot(part, record.get().version());
                }
                RuleSpec rule = RuleSpec.of(record.get());
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
        } catch (RuleState.ReadTooLarge e) {
            return Optional.of(new Failure(400, "Bad Request", "The rule's recent windows hold more values than one snapshot may ("
                + e.getMessage() + "); subscribe to some groups only (\"groups\": {\"<dimension>\": \"…\"})."));
        } catch (StateUnavailableException e) {
            LOG.warn("Snapshot of subscription {} (tenant {}) failed: {}", s.id(), s.tenant(), e.getMessage());
            return Optional.of(new Failure(503, "Service Unavailable", "Results cannot be read right now; subscribe again in a few seconds."));
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
        if (s.deliverSnapshot(seqs, marks, versions, body.toString(), time.millis())) {
            flusher.markDirty(s);
        }
        return Optional.empty();
    }
}
