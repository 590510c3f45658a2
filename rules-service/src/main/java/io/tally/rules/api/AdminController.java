package io.tally.rules.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Header;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import io.tally.model.TallyHeaders;
import io.tally.model.TenantQuotas;
import io.tally.problem.FieldError;
import io.tally.problem.ProblemException;
import io.tally.rule.RuleDefaults;
import io.tally.rules.domain.RuleDefinition;
import io.tally.rules.persistence.Page;
import io.tally.rules.persistence.RuleStore;
import io.tally.rules.persistence.Stored;
import io.tally.model.TimeSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code POST /api/v1/admin/replay} (role admin, own tenant): rebuilds a rule's state (or every rule's of the tenant) from the
 * event log, e.g. after Redis lost data. Each rule gets a new version with the same definition that is backfilled from
 * {@code from} (or from as far back as the rule keeps windows, if that is later): computed beside the version serving now,
 * which keeps serving until the new one switches over — exactly once, while live traffic continues.
 */
@Controller("/api/v1/admin")
@ExecuteOn(TaskExecutors.BLOCKING)
public class AdminController {

    private static final Logger LOG = LoggerFactory.getLogger(AdminController.class);
    private static final Set<String> FIELDS = Set.of("tenant", "ruleId", "from");

    /** One rule being rebuilt: its new version, from when, and over what span. */
    @Serdeable
    public record Replay(String ruleId, int version, String status, String from, String backfill) {
    }

    /** What a replay started (an empty list for a tenant without rules). */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Replays(List<Replay> replays) {
    }

    private final RuleStore store;
    private final TenantQuotas quotas;
    private final TimeSource time;

    public AdminController(RuleStore store, TenantQuotas quotas, TimeSource time) {
        this.store = store;
        this.quotas = quotas;
        this.time = time;
    }

    @Post(uri = "/replay", consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    public HttpResponse<Replays> replay(@Header(TallyHeaders.TENANT) @Nullable String tenant, @Body @Nullable byte[] body) {
        String t = Requests.tenant(tenant);
        Object parsed = Requests.json(body);
        if (!(parsed instanceof Map<?, ?> request)) {
            throw ProblemException.invalid("The body must be a JSON object {\"tenant\", \"ruleId\"?, \"from\"}; nothing was started.",
                List.of(new FieldError("", "must be an object")));
        }
        List<FieldError> errors = new ArrayList<>();
        request.keySet().stream().filter(k -> !FIELDS.contains(String.valueOf(k)))
            .forEach(k -> errors.add(new FieldError("/" + k, "is not a field of a replay (tenant, ruleId, from)")));
        Object askedTenant = request.get("tenant");
        if (!(askedTenant instanceof String s) || s.isEmpty()) {
            errors.add(new FieldError("/tenant", "is required: the tenant whose rules are rebuilt (your own)"));
        }
        Object ruleId = request.get("ruleId");
        if (ruleId != null && !(ruleId instanceof String)) {
            errors.add(new FieldError("/ruleId", "must be a rule id (a string), or left out for every rule of the tenant"));
        }
        Instant now = time.instant().truncatedTo(ChronoUnit.SECONDS);
        Instant from = null;
        int hours = quotas.of(t).backfillHours();
        Object fromText = request.get("from");
        if (!(fromText instanceof String text)) {
            errors.add(new FieldError("/from", "is required: an ISO-8601 instant such as \"2026-12-07T10:00:00Z\", the start of what is counted again"));
        } else {
            try {
                from = Instant.parse(text);
                if (from.isAfter(now)) {
                    errors.add(new FieldError("/from", "must not be in the future"));
                } else if (Duration.between(from, now).compareTo(Duration.ofHours(hours)) > 0) {
                    errors.add(new FieldError("/from", "quota backfill: " + hours + " hours of retained events per backfill; start at "
                        + now.minus(Duration.ofHours(hours)) + " or later"));
                }
            } catch (DateTimeParseException e) {
                errors.add(new FieldError("/from", "must be an ISO-8601 instant such as \"2026-12-07T10:00:00Z\""));
            }
        }
        if (!errors.isEmpty()) {
            throw ProblemException.invalid("The replay has " + (errors.size() == 1 ? "a problem" : errors.size() + " problems") + "; nothing was started.",
                errors);
        }
        if (!t.equals(askedTenant)) {
            throw new ProblemException(HttpStatus.FORBIDDEN, "Forbidden", "An admin may replay only its own tenant's rules; nothing was started.",
                List.of(new FieldError("/tenant", "must be your own tenant")), null);
        }
        List<Stored> rules = new ArrayList<>();
        if (ruleId != null) {
            rules.add(store.find(t, (String) ruleId).orElseThrow(() -> RulesController.notFound((String) ruleId)));
        } else {
            String token = null;
            do {
                Page page = store.list(t, Requests.MAX_PAGE_SIZE, token);
                rules.addAll(page.items());
                token = page.nextPageToken();
            } while (token != null);
        }
        List<Replay> started = new ArrayList<>();
        for (Stored rule : rules) {
            RuleDefinition definition = store.definition(rule);
            // Windows older than the rule's retention are not kept: counting events for them would be wasted.
            Duration retention = RuleDefaults.duration(definition.retention(), RuleDefaults.RETENTION);
            Instant start = (from.isBefore(now.minus(retention)) ? now.minus(retention) : from).truncatedTo(ChronoUnit.SECONDS);
            Duration span = Duration.between(start, now);
            if (span.compareTo(Duration.ofSeconds(1)) < 0) {
                span = Duration.ofSeconds(1);
            }
            Stored replaced = store.replace(t, rule.id(), definition, null, span.toString()).orElse(null);
            if (replaced != null) {
                LOG.info("tenant {} replays rule {} from {} (version {}, backfilling {})", t, rule.id(), start, replaced.version(), span);
                started.add(new Replay(rule.id(), replaced.version(), "backfilling", replaced.updatedAt().minus(span).toString(), span.toString()));
            }
        }
        return HttpResponse.<Replays>status(HttpStatus.ACCEPTED).body(new Replays(started));
    }
}
