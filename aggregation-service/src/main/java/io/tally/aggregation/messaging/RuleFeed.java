package io.tally.aggregation.messaging;

import io.micronaut.context.annotation.Value;
import io.micronaut.serde.ObjectMapper;
import io.tally.fold.ActiveRules;
import io.tally.model.RuleAck;
import io.tally.model.RuleFailure;
import io.tally.model.RuleRecord;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import io.tally.rules.catalog.RuleCatalog;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Keeps {@link ActiveRules} current from {@code tally.rules} and acknowledges what this instance has
 * applied on {@code tally.rule-acks}: right after each change and then every second, the catalog's
 * position per rules partition ("every rule version below these offsets is live here"). The rules
 * service turns a version into {@code active} once every live instance's position has passed it; the
 * periodic ack doubles as the liveness signal.
 */
@Singleton
public class RuleFeed implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RuleFeed.class);

    private final RuleCatalog catalog;
    private final ActiveRules active = new ActiveRules();
    private final RuleAcks acks;
    private final String instance;
    private final TimeSource time;
    private final ScheduledExecutorService ticker =
        Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("rule-acks").daemon().factory());

    /** This instance's name on {@code tally.rule-acks}. */
    public String instance() {
        return instance;
    }

    public RuleFeed(@Value("${kafka.bootstrap.servers}") String bootstrap, ObjectMapper json, RuleAcks acks, TimeSource time) {
        this.time = time;
        this.instance = ManagementFactory.getRuntimeMXBean().getName();
        this.acks = acks;
        this.catalog = new RuleCatalog(bootstrap, "aggregation-service", bytes -> json.readValue(bytes, RuleRecord.class));
        catalog.addListener(change -> {
            active.apply(change.tenant(), change.id(), change.rule());
            // The catalog moves its positions after the listeners ran; ack (or report the failure) just after that.
            ticker.schedule(this::acknowledge, 250, TimeUnit.MILLISECONDS);
        });
        catalog.start();
        ticker.scheduleWithFixedDelay(this::acknowledge, 1, 1, TimeUnit.SECONDS);
    }

    private void acknowledge() {
        try {
            Map<Integer, Long> positions = catalog.positions();
            if (!positions.isEmpty()) {
                List<RuleFailure> failed = active.failures();
                List<RuleAck.BackfillReport> backfills = backfillReports();
                send(new RuleAck(instance, time.instant(), positions, catalog.all().size(), null, failed.isEmpty() ? null : failed,
                    backfills.isEmpty() ? null : backfills));
            }
        } catch (RuntimeException e) {
            LOG.warn("could not acknowledge applied rules on {}: {}", Topics.RULE_ACKS, e.toString());
        }
    }

    /** A report and until when it is sent (ms): a running backfill's while it reports, an ended one's for a while after. */
    private record Report(RuleAck.BackfillReport report, long until) {
    }

    private final Map<String, Report> reports = new ConcurrentHashMap<>();

    /**
     * Reports how a backfill goes; sent with every acknowledgement (every second) while it reports, and at once when it
     * ended. An ended backfill's report is sent for five minutes, so a rules service that missed it still hears it.
     */
    public void report(RuleAck.BackfillReport report) {
        boolean ended = !RuleRecord.Backfill.RUNNING.equals(report.state());
        reports.put(report.tenant() + ":" + report.ruleId() + ":" + report.version(),
            new Report(report, time.millis() + (ended ? 300_000 : 10_000)));
        if (ended) {
            ticker.execute(this::acknowledge);
        }
    }

    private List<RuleAck.BackfillReport> backfillReports() {
        long now = time.millis();
        reports.values().removeIf(r -> r.until() < now);
        return reports.values().stream().map(Report::report).toList();
    }

    private CompletableFuture<RecordMetadata> send(RuleAck ack) {
        return acks.send(instance, ack);
    }

    public ActiveRules active() {
        return active;
    }

    public RuleCatalog catalog() {
        return catalog;
    }

    @PreDestroy
    @Override
    public void close() {
        ticker.shutdownNow();
        // Say goodbye so rule versions do not wait for an instance that is gone.
        try {
            send(new RuleAck(instance, time.instant(), null, null, true)).get(2, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.warn("could not say goodbye on {} ({}); rule versions wait for this instance until its liveness lapses", Topics.RULE_ACKS, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        catalog.close();
    }
}
