package io.tally.subscription.api;

import io.tally.model.TimeSource;
import io.tally.subscription.domain.Subscription;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Sends what subscriptions have pending, one thread for all of them: a subscription with news is
 * flushed at once when its coalescing interval has passed, else parked until it has (or until its
 * client's buffer drains).
 */
@Singleton
public class Flusher implements AutoCloseable {

    private record Parked(long at, Subscription subscription) {
    }

    private final LinkedBlockingQueue<Subscription> dirty = new LinkedBlockingQueue<>();
    private final PriorityQueue<Parked> parked = new PriorityQueue<>((a, b) -> Long.compare(a.at(), b.at()));
    private final Set<Subscription> isParked = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Thread thread;
    private final TimeSource time;
    private volatile boolean running = true;

    public Flusher(TimeSource time) {
        this.time = time;
        this.thread = Thread.ofPlatform().name("subscription-flusher").daemon().start(this::run);
    }

    /** A subscription has something to send. */
    public void markDirty(Subscription subscription) {
        dirty.add(subscription);
    }

    private void run() {
        List<Subscription> batch = new ArrayList<>();
        while (running) {
            try {
                long now = time.millis();
                long wait = parked.isEmpty() ? 1000 : Math.max(0, parked.peek().at() - now);
                Subscription first = dirty.poll(wait, TimeUnit.MILLISECONDS);
                if (first != null) {
                    batch.add(first);
                    dirty.drainTo(batch);
                }
                now = time.millis();
                while (!parked.isEmpty() && parked.peek().at() <= now) {
                    Subscription s = parked.poll().subscription();
                    isParked.remove(s);
                    batch.add(s);
                }
                for (Subscription s : batch) {
                    if (isParked.contains(s)) {
                        continue; // already waiting for its interval; it will send the newest values then
                    }
                    long again = s.flush(now);
                    if (again > 0) {
                        parked.add(new Parked(again, s));
                        isParked.add(s);
                    }
                }
                batch.clear();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                LoggerFactory.getLogger(Flusher.class).warn("Flushing subscriptions failed", e);
                batch.clear();
            }
        }
    }

    @PreDestroy
    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
