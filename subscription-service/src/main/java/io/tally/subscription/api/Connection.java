package io.tally.subscription.api;

import io.micronaut.http.MediaType;
import io.micronaut.websocket.CloseReason;
import io.micronaut.websocket.WebSocketSession;
import io.tally.subscription.domain.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Field;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One client socket: its tenant, its subscriptions by client id, the bytes it has not taken yet,
 * and a serial lane so its messages are handled one after another (off the event loop).
 */
final class Connection implements Subscription.Sink {

    private static final Logger LOG = LoggerFactory.getLogger(Connection.class);
    private static final Field CHANNEL = channelField();

    private final WebSocketSession session;
    private final String tenant;
    private final Map<String, Subscription> subscriptions = new ConcurrentHashMap<>();
    private final Map<String, String> targets = new ConcurrentHashMap<>();
    private final AtomicLong unsent = new AtomicLong();
    private final Executor executor;
    private CompletableFuture<Void> lane = CompletableFuture.completedFuture(null);
    volatile long lastPong = System.currentTimeMillis();

    Connection(WebSocketSession session, String tenant, Executor executor) {
        this.session = session;
        this.tenant = tenant;
        this.executor = executor;
    }

    String tenant() {
        return tenant;
    }

    String id() {
        return session.getId();
    }

    WebSocketSession session() {
        return session;
    }

    Map<String, Subscription> subscriptions() {
        return subscriptions;
    }

    /** What each subscription is to (rule and filter, or dashboard), for resumes. */
    Map<String, String> targets() {
        return targets;
    }

    /** Runs {@code task} after every task submitted before it. */
    synchronized void submit(Runnable task) {
        lane = lane.thenRunAsync(task, executor).exceptionally(e -> {
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
        if (!session.isOpen()) {
            return;
        }
        long size = text.length();
        unsent.addAndGet(size);
        session.sendAsync(text, MediaType.TEXT_PLAIN_TYPE).whenComplete((r, e) -> unsent.addAndGet(-size));
    }

    @Override
    public void close(int code, String reason) {
        LOG.info("Closing socket {} of tenant {}: {} {}", session.getId(), tenant, code, reason);
        session.close(new CloseReason(code, reason));
        // A client that takes nothing never lets the close frame out: drop the connection itself soon after.
        CompletableFuture.delayedExecutor(5, java.util.concurrent.TimeUnit.SECONDS).execute(() -> {
            if (session.isOpen() && CHANNEL != null) {
                try {
                    ((io.netty.channel.Channel) CHANNEL.get(session)).close();
                } catch (ReflectiveOperationException | RuntimeException e) {
                    LOG.debug("Could not drop socket {}", session.getId(), e);
                }
            }
        });
    }

    private static Field channelField() {
        try {
            Field f = io.micronaut.http.netty.websocket.NettyWebSocketSession.class.getDeclaredField("channel");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
