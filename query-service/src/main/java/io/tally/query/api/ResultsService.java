package io.tally.query.api;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.type.Argument;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.RuleRecord;
import io.tally.problem.FieldError;
import io.tally.problem.ProblemException;
import io.tally.results.RawWindow;
import io.tally.results.ResultAssembler;
import io.tally.results.ResultWindow;
import io.tally.results.StateReader;
import io.tally.results.StateUnavailableException;
import io.tally.results.RuleView;
import io.tally.rules.catalog.RuleCatalog;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Results and rankings of a rule. Identical concurrent reads collapse into one Redis read
 * (single-flight) and a snapshot is reused for a short time; a newer snapshot only ever replaces an
 * older one, so no reader is served a value lower than one already served.
 */
@Singleton
public class ResultsService {

    static final int MAX_WINDOWS = 2000;

    private final RuleCatalog catalog;
    private final StateReader reader;
    private final ResultAssembler assembler;
    private final AsyncCache<String, StateReader.Snapshot> cache;
    private final Clock clock = Clock.systemUTC();

    public ResultsService(RuleCatalog catalog, StateReader reader, ObjectMapper json,
                          @Value("${tally.query.cache-ttl:25ms}") Duration cacheTtl) {
        this.catalog = catalog;
        this.reader = reader;
        this.assembler = new ResultAssembler(text -> read(json, text, Argument.listOf(Object.class)), text -> read(json, text, Argument.OBJECT_ARGUMENT));
        this.cache = Caffeine.newBuilder().expireAfterWrite(cacheTtl).maximumSize(10_000).buildAsync();
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
        RuleView rule = rule(tenant, ruleId);
        List<FieldError> errors = new ArrayList<>();
        long now = clock.millis();
        long toMillis = to == null ? now : time(to, "/to", errors);
        long fromMillis = from == null ? toMillis - 10 * rule.sizeMillis() : time(from, "/from", errors);
        for (String dimension : groupFilter.keySet()) {
            if (!rule.dimensions().contains(dimension)) {
                errors.add(new FieldError("/group." + dimension, "the rule does not group by " + dimension + "; it groups by " + rule.dimensions()));
            }
        }
        if (errors.isEmpty() && fromMillis >= toMillis) {
            errors.add(new FieldError("/from", "must be before to"));
        }
        if (!errors.isEmpty()) {
            throw ProblemException.invalid("The query has " + errors.size() + " problem(s).", errors);
        }
        // Counted before any list is built: a range of centuries over one-second windows must cost nothing.
        long count = rule.countOverlapping(fromMillis, toMillis);
        if (count > MAX_WINDOWS) {
            throw ProblemException.invalid("The range spans " + count + " windows; ask for at most " + MAX_WINDOWS + ".",
                List.of(new FieldError("/from", "the range from..to is too long for this rule's windows")));
        }
        List<Long> starts = rule.windowsOverlapping(fromMillis, toMillis);
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
        RuleView rule = rule(tenant, ruleId);
        List<FieldError> errors = new ArrayList<>();
        RuleView.Op op = metric == null ? null : rule.ops().stream().filter(o -> o.name().equals(metric)).findFirst().orElse(null);
        if (metric == null) {
            errors.add(new FieldError("/metric", "is required: the name of one of the rule's aggregations"));
        } else if (op == null) {
            errors.add(new FieldError("/metric", "the rule has no aggregation named " + metric));
        } else if (op.kind().equals("topk")) {
            errors.add(new FieldError("/metric", metric + " is a topk list and cannot rank groups"));
        }
        int limit = k == null ? 10 : k;
        if (limit < 1 || limit > 100) {
            errors.add(new FieldError("/k", "must be 1 to 100"));
        }
        long start = 0;
        if (window != null) {
            start = time(window, "/window", errors);
            if (errors.isEmpty() && Math.floorMod(start, rule.slideMillis()) != 0) {
                errors.add(new FieldError("/window", "is not the start of one of the rule's windows"));
            }
        }
        if (!errors.isEmpty()) {
            throw ProblemException.invalid("The query has " + errors.size() + " problem(s).", errors);
        }
        List<Long> starts = window != null ? List.of(start)
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

    private RuleView rule(String tenant, String ruleId) {
        if (!catalog.isCaughtUp()) {
            // Just started: an unknown id is only "unknown" once every rule on the topic has been read.
            try {
                if (!catalog.awaitCaughtUp(java.time.Duration.ofSeconds(5))) {
                    throw ProblemException.unavailable("The query service is still reading the rules; retry shortly.", 2);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ProblemException.unavailable("Interrupted while reading the rules; retry shortly.", 1);
            }
        }
        RuleRecord record = catalog.get(tenant, ruleId).orElseThrow(() -> ProblemException.notFound("No rule " + ruleId + " for this tenant."));
        return RuleView.of(record);
    }

    private StateReader.Snapshot snapshot(RuleView rule, List<Long> starts) {
        if (starts.isEmpty()) {
            return StateReader.Snapshot.empty();
        }
        String key = rule.tenant() + "|" + rule.id() + "|" + rule.version() + "|" + starts.getFirst() + "|" + starts.getLast();
        try {
            return cache.get(key, (k, executor) -> CompletableFuture.supplyAsync(() -> reader.read(rule, starts), executor)).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof io.tally.results.RuleState.ReadTooLarge tooLarge) {
                throw ProblemException.invalid("The range holds more values than one answer may (" + tooLarge.getMessage() + "). Ask for a shorter"
                    + " range (from/to), or for some groups only (group.<dimension>=…).",
                    List.of(new FieldError("/from", "the range from..to holds too many groups and values for one answer")));
            }
            if (e.getCause() instanceof StateUnavailableException unavailable) {
                throw ProblemException.unavailable(unavailable.getCause() instanceof io.github.resilience4j.circuitbreaker.CallNotPermittedException
                    ? "Reads are paused after repeated failures of the result store; retry after Retry-After seconds."
                    : "Results are temporarily unavailable; retry after Retry-After seconds.", 5);
            }
            throw e;
        }
    }

    /** Timestamps a query may name: years 0001 to 9999 (range arithmetic on them cannot overflow). */
    static final long EARLIEST = java.time.Instant.parse("0001-01-01T00:00:00Z").toEpochMilli();
    static final long LATEST = java.time.Instant.parse("9999-12-31T23:59:59.999Z").toEpochMilli();

    private static long time(String text, String pointer, List<FieldError> errors) {
        try {
            java.time.Instant instant = OffsetDateTime.parse(text).toInstant();
            if (instant.getEpochSecond() < EARLIEST / 1000 || instant.getEpochSecond() > LATEST / 1000) {
                errors.add(new FieldError(pointer, "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z"));
                return 0;
            }
            return instant.toEpochMilli();
        } catch (DateTimeParseException e) {
            errors.add(new FieldError(pointer, "must be an RFC 3339 timestamp with an offset, such as 2026-11-23T10:00:00Z"));
            return 0;
        }
    }

    static String iso(long millis) {
        return ResultWindow.iso(millis);
    }
}
