package io.tally.subscription.api;

import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.http.MediaType;
import io.micronaut.websocket.CloseReason;
import io.micronaut.websocket.WebSocketSession;
import io.tally.subscription.domain.Subscription;
import io.tally.subscription.messaging.TailFeed;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One client socket: its tenant, its subscriptions by client id, the bytes it has not taken yet,
 * and a serial lane so its messages are handled one after another (off the event loop).
 */
final class Connection implements Subscription.Sink {

    private static final Logger LOG = LoggerFactory.getLogger(Connection.class);

    private final WebSocketSession session;
    private final String tenant;
    private final Map<String, Subscription> subscriptions = new ConcurrentHashMap<>();
    private final Map<String, String> targets = new ConcurrentHashMap<>();
    private final Map<String, TailFeed.Tail> tails = new ConcurrentHashMap<>();
    private final AtomicLong unsent = new AtomicLong();
    private final Executor executor;
    private CompletableFuture<Void> lane = CompletableFuture.completedFuture(null);
    private final AtomicInteger pending = new AtomicInteger();
    private final long maxUnsentBytes;
    private final MeterRegistry meters;
    private final SocketChannels channels;
    private volatile boolean closing;
    private volatile long lastPong;

    /**
     * @param maxUnsentBytes what the client may leave unread, snapshots and errors included; past it the socket is
     *                       closed (1008) instead of buffering more: a client that does not read costs no more memory
     * @param now            when the socket opened (epoch ms): it counts as its first pong
     */
    Connection(WebSocketSession session, String tenant, Executor executor, long maxUnsentBytes, MeterRegistry meters,
               SocketChannels channels, long now) {
        this.meters = meters;
        this.channels = channels;
        this.lastPong = now;
        this.session = session;
        this.tenant = tenant;
        this.executor = executor;
        this.maxUnsentBytes = maxUnsentBytes;
    }

    /** Inbound messages waiting to be handled at most; a client sending faster than they are handled is closed. */
    static final int MAX_PENDING_MESSAGES = 256;

    String tenant() {
        return tenant;
    }

    String id() {
        return session.getId();
    }

    WebSocketSession session() {
        return session;
    }

    /** The client answered a ping at {@code now} (epoch ms). */
    void ponged(long now) {
        lastPong = now;
    }

    /** How long the client has not answered a ping, at {@code now}. */
    long silentFor(long now) {
        return now - lastPong;
    }

    Map<String, Subscription> subscriptions() {
        return subscriptions;
    }

    /** The socket's event tails by client id. */
    Map<String, TailFeed.Tail> tails() {
        return tails;
    }

    /** What each subscription is to (rule and filter, or dashboard), for resumes. */
    Map<String, String> targets() {
        return targets;
    }

    /** Runs {@code task} after every task submitted before it; closes the socket when too many are waiting. */
    synchronized void submit(Runnable task) {
        if (pending.incrementAndGet() > MAX_PENDING_MESSAGES) {
            pending.decrementAndGet();
            meters.counter("tally.subscriptions.closed", "reason", "flooding").increment();
            close(1008, "more than " + MAX_PENDING_MESSAGES + " messages waiting to be handled; send fewer at once");
            return;
        }
        lane = lane.thenRunAsync(() -> {
            try {
                task.run();
            } finally {
                pending.decrementAndGet();
            }
        }, executor).exceptionally(e -> {
            LOG.warn("Handling a message of socket {} failed", session.getId(), e);
            return null;
        });
    }

    @Override
    public long unsentBytes() {
        return unsent.get();
    }

    @Override
    public void send(String text) {
        if (!session.isOpen() || closing) {
            return;
        }
        long size = text.length();
        if (unsent.get() + size > maxUnsentBytes) {
            meters.counter("tally.subscriptions.closed", "reason", "slow-reader").increment();
            close(1008, "the client leaves " + unsent.get() + " bytes unread; read the socket (or subscribe to less)");
            return;
        }
        unsent.addAndGet(size);
        session.sendAsync(text, MediaType.TEXT_PLAIN_TYPE).whenComplete((r, e) -> unsent.addAndGet(-size));
    }

    @Override
    public void close(int code, String reason) {
        if (closing) {
            return;
        }
        closing = true;
        LOG.info("Closing socket {} of tenant {}: {} {}", session.getId(), tenant, code, reason);
        session.close(new CloseReason(code, reason));
        // A client that takes nothing never lets the close frame out: drop the connection itself soon after.
        CompletableFuture.delayedExecutor(5, TimeUnit.SECONDS).execute(() -> {
            if (session.isOpen() && channels.drop(session)) {
                LOG.info("Dropped socket {} of tenant {}: its client did not take the close frame", session.getId(), tenant);
            }
        });
    }
}
