package io.tally.subscription.domain;

import io.tally.model.JsonText;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One client subscription: to a rule (one part) or a dashboard (one part per saved query). Holds
 * what has changed since the last message, newest values per window ({@link #offer}), and sends it
 * as one update at most once per coalescing interval ({@link #flush}); a client whose socket has a
 * full send buffer gets nothing more until it drains (the pending values keep being replaced by
 * newer ones, never queued), and is closed when it stays full too long.
 * <p>
 * Versions count messages: the snapshot is {@code n}, each update {@code n+1}, {@code n+2}…; the
 * last few versions remember, per part, the sequence of the newest read they reflect and how many of
 * the rule's change announcements that read covered ({@link Fanout#mark}), so a client that
 * reconnects with {@code resumeVersion} can be sent exactly the windows that changed after it.
 */
public final class Subscription {

    /** Where messages go: a client's socket. */
    public interface Sink {

        /** Bytes handed to the socket that the client has not taken yet. */
        long unsentBytes();

        void send(String text);

        void close(int code, String reason);
    }

    public enum State { SNAPSHOT, LIVE, CLOSED }

    /** How messages are paced. */
    public record Pacing(long coalesceMillis, long bufferBytes, long stallMillis) {
    }

    /** A window ready to send: its start and its JSON (as in results). */
    public record Rendered(long start, String json) {
    }

    private record Pending(long seq, String json) {
    }

    /** One rule of the subscription, with an optional group filter. */
    public final class Part {
        private final int index;
        private final String ruleId;
        private final Map<String, String> filter;
        private int ruleVersion;
        private long seenSeq = -1;
        private long covered = -1;
        private final TreeMap<Long, Pending> pending = new TreeMap<>();

        Part(int index, String ruleId, Map<String, String> filter, int ruleVersion) {
            this.index = index;
            this.ruleId = ruleId;
            this.filter = Map.copyOf(filter);
            this.ruleVersion = ruleVersion;
        }

        public Subscription subscription() {
            return Subscription.this;
        }

        public String ruleId() {
            return ruleId;
        }

        public Map<String, String> filter() {
            return filter;
        }

        public int index() {
            return index;
        }

        public int ruleVersion() {
            synchronized (Subscription.this) {
                return ruleVersion;
            }
        }

        /** Continues after a resumed subscription's last message without a snapshot (the history can serve it). */
        void continueAfter(long seq, long mark) {
            synchronized (Subscription.this) {
                seenSeq = seq;
                covered = mark;
            }
        }

        /**
         * Windows read at update sequence {@code seq}, covering the rule's announcements up to
         * {@code mark}, rendered for this part's filter. A read older than what the part has (a lower
         * sequence) is dropped; one at the same sequence holds the same values. Returns true when the
         * subscription now has something to send.
         */
        public boolean offer(long seq, long mark, int version, List<Rendered> windows) {
            synchronized (Subscription.this) {
                if (state == State.CLOSED || version != ruleVersion || seq < seenSeq) {
                    return false;
                }
                seenSeq = seq;
                covered = Math.max(covered, mark);
                for (Rendered w : windows) {
                    pending.put(w.start(), new Pending(seq, w.json()));
                }
                return state == State.LIVE && !windows.isEmpty();
            }
        }
    }

    private static final int REMEMBERED_VERSIONS = 64;

    private final String tenant;
    private final String id;
    private final String dashboardId;
    private final List<Part> parts = new ArrayList<>();
    private final Sink sink;
    private final Pacing pacing;
    private State state = State.SNAPSHOT;
    private long version;
    private long lastSentAt = Long.MIN_VALUE / 2;
    private long stalledSince = -1;
    private record Remembered(long version, Position[] at) {
    }

    private final Deque<Remembered> remembered = new ArrayDeque<>();

    /** @param firstVersion the version of the first message (the snapshot, or the first update of a resume) */
    public Subscription(String tenant, String id, String dashboardId, Sink sink, Pacing pacing, long firstVersion) {
        this.tenant = tenant;
        this.id = id;
        this.dashboardId = dashboardId;
        this.sink = sink;
        this.pacing = pacing;
        this.version = firstVersion - 1;
    }

    public Part addPart(String ruleId, Map<String, String> filter, int ruleVersion) {
        Part part = new Part(parts.size(), ruleId, filter, ruleVersion);
        parts.add(part);
        return part;
    }

    public String tenant() {
        return tenant;
    }

    public String id() {
        return id;
    }

    public String dashboardId() {
        return dashboardId;
    }

    public List<Part> parts() {
        return parts;
    }

    public Sink sink() {
        return sink;
    }

    public synchronized State state() {
        return state;
    }

    public synchronized long version() {
        return version;
    }

    /** Starts over with a snapshot (a rule changed version): pending values of old versions are dropped. */
    public synchronized void resnapshot(Part part, int newRuleVersion) {
        if (state == State.CLOSED) {
            return;
        }
        part.ruleVersion = newRuleVersion;
        part.pending.clear();
        part.seenSeq = -1;
        part.covered = -1;
        state = State.SNAPSHOT;
    }

    /**
     * Sends a snapshot read at {@code seqs} (one per part), each read started after {@code marks}
     * announcements of its rule, unless the subscription was closed or asked for another snapshot
     * meanwhile ({@code ruleVersions} no longer current). {@code body} is the message after its
     * version: {@code ,"windows":[…]}. Returns true when updates read after the snapshot wait to be sent.
     */
    public synchronized boolean deliverSnapshot(long[] seqs, long[] marks, int[] ruleVersions, String body, long now) {
        if (state != State.SNAPSHOT) {
            return false;
        }
        for (Part part : parts) {
            if (part.ruleVersion != ruleVersions[part.index]) {
                return false; // a newer snapshot is on its way
            }
        }
        boolean more = false;
        for (Part part : parts) {
            long seq = seqs[part.index];
            part.pending.values().removeIf(p -> p.seq() < seq);
            part.seenSeq = Math.max(part.seenSeq, seq);
            part.covered = Math.max(part.covered, marks[part.index]);
            more |= !part.pending.isEmpty();
        }
        version++;
        Position[] at = new Position[parts.size()];
        for (int i = 0; i < at.length; i++) {
            at[i] = new Position(seqs[i], marks[i]);
        }
        remember(at); // reads still pending are not in the snapshot: the next update remembers them
        sink.send("{\"type\":\"snapshot\",\"id\":" + JsonText.quote(id) + ",\"version\":" + version + body);
        state = State.LIVE;
        lastSentAt = now;
        return more;
    }

    /**
     * Goes live without a snapshot: every part continued after the sequences of a remembered
     * version ({@link Fanout#attach}). Returns true when changes wait to be sent.
     */
    public synchronized boolean resumed() {
        if (state != State.SNAPSHOT) {
            return false;
        }
        state = State.LIVE;
        return parts.stream().anyMatch(p -> !p.pending.isEmpty());
    }

    /** Where a part stood at a version: the sequence of the newest read it reflected and the announcements that read covered. */
    public record Position(long seq, long mark) {
    }

    /** Each part's position at version {@code v}, if still remembered. */
    public synchronized Position[] positionsAt(long v) {
        for (Remembered r : remembered) {
            if (r.version() == v) {
                return r.at().clone();
            }
        }
        return null;
    }

    /**
     * Sends what is pending when the coalescing interval allows it and the client keeps up.
     * Returns when to try again (epoch ms), or 0 when nothing is left to do.
     */
    public synchronized long flush(long now) {
        if (state != State.LIVE || parts.stream().allMatch(p -> p.pending.isEmpty())) {
            return 0;
        }
        long due = lastSentAt + pacing.coalesceMillis();
        if (now < due) {
            return due;
        }
        if (sink.unsentBytes() > pacing.bufferBytes()) {
            if (stalledSince < 0) {
                stalledSince = now;
            }
            if (now - stalledSince >= pacing.stallMillis()) {
                close(1008, "too slow: " + sink.unsentBytes() + " bytes unread for " + (now - stalledSince) / 1000 + " s");
                return 0;
            }
            return now + Math.max(10, pacing.coalesceMillis());
        }
        stalledSince = -1;
        StringBuilder message = new StringBuilder(256).append("{\"type\":\"update\",\"id\":").append(JsonText.quote(id))
            .append(",\"version\":").append(version + 1).append(",\"windows\":[");
        boolean first = true;
        for (Part part : parts) {
            for (Pending p : part.pending.values()) {
                message.append(first ? "" : ",");
                appendWindow(message, part, p.json());
                first = false;
            }
            part.pending.clear();
        }
        message.append("]}");
        version++;
        Position[] at = new Position[parts.size()];
        for (Part part : parts) {
            at[part.index] = new Position(part.seenSeq, part.covered);
        }
        remember(at);
        lastSentAt = now;
        sink.send(message.toString());
        return 0;
    }

    /** Windows of a dashboard say which of its queries (and rules) they belong to. */
    public void appendWindow(StringBuilder out, Part part, String windowJson) {
        if (dashboardId == null) {
            out.append(windowJson);
        } else {
            out.append("{\"query\":").append(part.index).append(",\"ruleId\":").append(JsonText.quote(part.ruleId)).append(',')
                .append(windowJson, 1, windowJson.length());
        }
    }

    private void remember(Position[] at) {
        remembered.addLast(new Remembered(version, at));
        while (remembered.size() > REMEMBERED_VERSIONS) {
            remembered.removeFirst();
        }
    }

    /** Sends an error about this subscription and ends it (the socket stays open). */
    public synchronized void fail(int status, String title, String detail) {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        sink.send(Messages.error(id, status, title, detail, null));
    }

    /** Ends the subscription without a message. */
    public synchronized void end() {
        state = State.CLOSED;
    }

    private void close(int code, String reason) {
        state = State.CLOSED;
        sink.close(code, reason);
    }
}
