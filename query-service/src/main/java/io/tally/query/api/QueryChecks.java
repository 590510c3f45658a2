package io.tally.query.api;

import io.tally.problem.FieldError;
import io.tally.problem.ProblemException;
import io.tally.rule.Op;
import io.tally.rule.RuleSpec;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What a results or top request asks for, checked against its rule before anything is read: every problem at once,
 * each with its pointer (a 400 problem), and ranges bounded so no request makes the service build or read more than
 * {@link #MAX_WINDOWS} windows.
 */
final class QueryChecks {

    static final int MAX_WINDOWS = 2000;

    /** Timestamps a query may name: years 0001 to 9999 (range arithmetic on them cannot overflow). */
    static final long EARLIEST = Instant.parse("0001-01-01T00:00:00Z").toEpochMilli();
    static final long LATEST = Instant.parse("9999-12-31T23:59:59.999Z").toEpochMilli();

    /** The window starts a results request reads. */
    record Range(long from, long to, List<Long> starts) {
    }

    /** A top request: the aggregation to rank by, how many groups, and the window (null: the newest). */
    record Top(String metric, int limit, Long window) {
    }

    private QueryChecks() {
    }

    /**
     * {@code from} and {@code to} (RFC 3339; by default the last ten windows up to {@code now}) and the group filter's
     * dimensions, checked against the rule.
     */
    /**
     * The tier a read asks for with {@code resolution}: none or the rule's window size is the rule's own windows, the
     * resolution of its rollup is the rollup ({@link RuleSpec#rollupView()}); anything else is a 400 saying what it keeps.
     */
    static RuleSpec tier(RuleSpec rule, String resolution) {
        if (resolution == null) {
            return rule;
        }
        long millis;
        try {
            millis = Duration.parse(resolution).toMillis();
        } catch (DateTimeParseException | ArithmeticException e) {
            millis = -1;
        }
        if (millis == rule.sizeMillis()) {
            return rule;
        }
        if (rule.hasRollup() && millis == rule.rollupMillis()) {
            return rule.rollupView();
        }
        String kept = "this rule keeps " + Duration.ofMillis(rule.sizeMillis()) + " windows"
            + (rule.hasRollup() ? " and a " + Duration.ofMillis(rule.rollupMillis()) + " rollup" : " and no rollup");
        throw ProblemException.invalid("No windows of resolution " + resolution + ": " + kept + ".",
            List.of(new FieldError("/resolution", kept)));
    }

    static Range range(RuleSpec rule, String from, String to, Set<String> filteredDimensions, long now) {
        List<FieldError> errors = new ArrayList<>();
        long toMillis = to == null ? now : time(to, "/to", errors);
        long fromMillis = from == null ? toMillis - 10 * rule.sizeMillis() : time(from, "/from", errors);
        for (String dimension : filteredDimensions) {
            if (!rule.dimensions().contains(dimension)) {
                errors.add(new FieldError("/group." + dimension, "the rule does not group by " + dimension + "; it groups by " + rule.dimensions()));
            }
        }
        if (errors.isEmpty() && fromMillis >= toMillis) {
            errors.add(new FieldError("/from", "must be before to"));
        }
        refuse(errors);
        // Counted before any list is built: a range of centuries over one-second windows must cost nothing.
        long count = rule.countOverlapping(fromMillis, toMillis);
        if (count > MAX_WINDOWS) {
            throw ProblemException.invalid("The range spans " + count + " windows; ask for at most " + MAX_WINDOWS + ".",
                List.of(new FieldError("/from", "the range from..to is too long for this rule's windows")));
        }
        return new Range(fromMillis, toMillis, rule.windowsOverlapping(fromMillis, toMillis));
    }

    /** {@code metric} (one of the rule's aggregations, not a topk), {@code k} (1..100, default 10) and {@code window}. */
    static Top top(RuleSpec rule, String metric, Integer k, String window) {
        List<FieldError> errors = new ArrayList<>();
        RuleSpec.Aggregation op = metric == null ? null : rule.ops().stream().filter(o -> o.name().equals(metric)).findFirst().orElse(null);
        if (metric == null) {
            errors.add(new FieldError("/metric", "is required: the name of one of the rule's aggregations"));
        } else if (op == null) {
            errors.add(new FieldError("/metric", "the rule has no aggregation named " + metric));
        } else if (op.kind() == Op.TOPK) {
            errors.add(new FieldError("/metric", metric + " is a topk list and cannot rank groups"));
        }
        int limit = k == null ? 10 : k;
        if (limit < 1 || limit > 100) {
            errors.add(new FieldError("/k", "must be 1 to 100"));
        }
        Long start = null;
        if (window != null) {
            start = time(window, "/window", errors);
            if (errors.isEmpty() && Math.floorMod(start, rule.slideMillis()) != 0) {
                errors.add(new FieldError("/window", "is not the start of one of the rule's windows"));
            }
        }
        refuse(errors);
        return new Top(metric, limit, start);
    }

    private static void refuse(List<FieldError> errors) {
        if (!errors.isEmpty()) {
            throw ProblemException.invalid("The query has " + errors.size() + " problem(s).", errors);
        }
    }

    private static long time(String text, String pointer, List<FieldError> errors) {
        try {
            Instant instant = OffsetDateTime.parse(text).toInstant();
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
}
