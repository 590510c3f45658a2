package io.tally.query.api;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.type.Argument;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleRecord;
import io.tally.model.TimeSource;
import io.tally.problem.FieldError;
import io.tally.problem.ProblemException;
import io.tally.results.RawWindow;
import io.tally.results.ResultAssembler;
import io.tally.results.ResultWindow;
import io.tally.results.RuleState;
import io.tally.results.StateReader;
import io.tally.results.StateUnavailableException;
import io.tally.rule.RuleSpec;
import io.tally.rules.catalog.RuleCatalog;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;

/**
 * Results and rankings of a rule. Identical concurrent reads collapse into one Redis read
 * (single-flight) and a snapshot is reused for a short time; a newer snapshot only ever replaces an
 * older one, so no reader is served a value lower than one already served.
 */
@Singleton
public class ResultsService {

    private final RuleCatalog catalog;
    private final StateReader reader;
    private final ResultAssembler assembler;
    private final SnapshotCache<StateReader.Snapshot> cache;
    private final Clock clock;

    public ResultsService(RuleCatalog catalog, StateReader reader, ObjectMapper json,
                          @Value("${tally.query.cache-ttl:25ms}") Duration cacheTtl, TimeSource time) {
        this.clock = time.clock();
        this.catalog = catalog;
        this.reader = reader;
        this.assembler = new ResultAssembler(text -> read(json, text, Argument.listOf(Object.class)), text -> read(json, text, Argument.OBJECT_ARGUMENT));
        this.cache = new SnapshotCache<>(cacheTtl, time);
    }

    private static <T> T read(ObjectMapper json, String text, Argument<T> type) {
        try {
            return json.readValue(text, type);
        } catch (IOException e) {
            throw new IllegalStateException("unreadable stored value", e);
        }
    }

    /** An answer and how many stored values were read for it (what the gateway charges heavy reads by). */
    public record Answer<T>(T body, long valuesRead) {
    }

    /** Header of the values a read took, for the gateway (not relayed to clients). */
    public static final String VALUES_READ = "X-Tally-Values-Read";

    private static long values(StateReader.Snapshot snapshot) {
        return snapshot.windows().stream().mapToLong(w -> w.fields().size() + w.distinct().size()).sum();
    }

    public Answer<Responses.Results> results(String tenant, String ruleId, String from, String to, Map<String, String> groupFilter) {
        return results(tenant, ruleId, from, to, groupFilter, null);
    }

    /** Results of the rule's windows, or with {@code resolution} the rule's rollup tier of that resolution. */
    public Answer<Responses.Results> results(String tenant, String ruleId, String from, String to, Map<String, String> groupFilter,
                                             String resolution) {
        RuleSpec rule = QueryChecks.tier(rule(tenant, ruleId), resolution);
        List<Long> starts = QueryChecks.range(rule, from, to, groupFilter.keySet(), clock.millis()).starts();
        StateReader.Snapshot snapshot = snapshot(rule, starts);
        List<ResultWindow> windows = new ArrayList<>();
        for (RawWindow window : snapshot.windows()) {
            ResultWindow shown = ResultWindow.of(assembler, rule, window, groupFilter, snapshot.closedUpTo());
            if (shown != null) {
                windows.add(shown);
            }
        }
        return new Answer<>(new Responses.Results(rule.id(), rule.version(), snapshot.watermark() == null ? null : iso(snapshot.watermark()),
            snapshot.lateEvents(), windows), values(snapshot));
    }

    public Answer<Responses.Top> top(String tenant, String ruleId, String metric, Integer k, String window) {
        return top(tenant, ruleId, metric, k, window, null);
    }

    /** The ranking of one window, or with {@code resolution} of one window of the rule's rollup tier. */
    public Answer<Responses.Top> top(String tenant, String ruleId, String metric, Integer k, String window, String resolution) {
        RuleSpec rule = QueryChecks.tier(rule(tenant, ruleId), resolution);
        QueryChecks.Top top = QueryChecks.top(rule, metric, k, window);
        int limit = top.limit();
        List<Long> starts = top.window() != null ? List.of(top.window())
            : rule.windowsOverlapping(clock.millis() - 10 * rule.sizeMillis(), clock.millis() + 1);
        StateReader.Snapshot snapshot = snapshot(rule, starts);
        if (snapshot.windows().isEmpty()) {
            return new Answer<>(new Responses.Top(null, List.of()), 0);
        }
        RawWindow newest = snapshot.windows().getLast();
        List<ResultAssembler.Group> groups = new ArrayList<>(assembler.groups(rule, newest, Map.of()));
        groups.sort(Comparator.<ResultAssembler.Group>comparingDouble(g -> number(g.values().get(metric))).reversed()
            .thenComparing(ResultAssembler.Group::key));
        List<Responses.TopEntry> entries = groups.subList(0, Math.min(limit, groups.size())).stream()
            .map(g -> new Responses.TopEntry(g.group(), g.values().get(metric))).toList();
        return new Answer<>(new Responses.Top(new Responses.WindowRef(iso(newest.start()), iso(newest.start() + rule.sizeMillis())), entries),
            values(snapshot));
    }

    private static double number(Object value) {
        return value instanceof Number n ? n.doubleValue() : Double.NEGATIVE_INFINITY;
    }

    private RuleSpec rule(String tenant, String ruleId) {
        if (!catalog.isCaughtUp()) {
            // Just started: an unknown id is only "unknown" once every rule on the topic has been read.
            try {
                if (!catalog.awaitCaughtUp(Duration.ofSeconds(5))) {
                    throw ProblemException.unavailable("The query service is still reading the rules; retry shortly.", 2);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ProblemException.unavailable("Interrupted while reading the rules; retry shortly.", 1);
            }
        }
        RuleRecord record = catalog.serving(tenant, ruleId).orElseThrow(() -> ProblemException.notFound("No rule " + ruleId + " for this tenant."));
        return RuleSpec.of(record);
    }

    private StateReader.Snapshot snapshot(RuleSpec rule, List<Long> starts) {
        if (starts.isEmpty()) {
            return StateReader.Snapshot.empty();
        }
        try {
            return cache.get(rule, starts, () -> reader.read(rule, starts));
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuleState.ReadTooLarge tooLarge) {
                throw ProblemException.invalid("The range holds more values than one answer may (" + tooLarge.getMessage() + "). Ask for a shorter"
                    + " range (from/to), or for some groups only (group.<dimension>=…).",
                    List.of(new FieldError("/from", "the range from..to holds too many groups and values for one answer")));
            }
            if (e.getCause() instanceof StateUnavailableException unavailable) {
                throw ProblemException.unavailable(unavailable.getCause() instanceof CallNotPermittedException
                    ? "Reads are paused after repeated failures of the result store; retry after Retry-After seconds."
                    : "Results are temporarily unavailable; retry after Retry-After seconds.", 5);
            }
            throw e;
        }
    }

    static String iso(long millis) {
        return ResultWindow.iso(millis);
    }
}
