package io.tally.rules.api;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Header;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.tally.model.RuleRecord;
import io.tally.model.TallyHeaders;
import io.tally.problem.ProblemException;
import io.tally.rules.domain.RuleValidator;
import io.tally.rules.messaging.AggregationAcks;
import io.tally.rules.persistence.DeadLetterStore;
import io.tally.rules.persistence.Page;
import io.tally.rules.persistence.RuleStore;
import io.tally.rules.persistence.Stored;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Rules CRUD (API.md, "Rules"): tenant from the gateway's header, versions, ETag / If-Match, paging. */
@Controller("/api/v1/rules")
@ExecuteOn(TaskExecutors.BLOCKING)
public class RulesController {

    /** Rule changes are events of interest: one line each, with the request's id (and trace) in the logging context. */
    private static final Logger LOG = LoggerFactory.getLogger(RulesController.class);

    private final RuleStore store;
    private final AggregationAcks acks;
    private final DeadLetterStore deadLetters;

    public RulesController(RuleStore store, AggregationAcks acks, DeadLetterStore deadLetters) {
        this.store = store;
        this.acks = acks;
        this.deadLetters = deadLetters;
    }

    @Post(consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    public HttpResponse<RuleResponse> create(@Header(TallyHeaders.TENANT) @Nullable String tenant, @Body @Nullable byte[] body) {
        String t = Requests.tenant(tenant);
        RuleValidator.Result rule = validated(body);
        Stored stored = store.create(t, rule.definition(), rule.backfill());
        LOG.info("tenant {} created rule {} (version {}{})", t, stored.id(), stored.version(), backfillNote(rule));
        return HttpResponse.created(RuleResponse.of(stored, rule.definition(), status(stored), DeadLetterStore.Summary.NONE), URI.create("/api/v1/rules/" + stored.id()))
            .header("ETag", Requests.etag(stored.version()));
    }

    @Get(produces = MediaType.APPLICATION_JSON)
    public RuleResponse.Page list(@Header(TallyHeaders.TENANT) @Nullable String tenant,
                                  @QueryValue @Nullable String pageSize, @QueryValue @Nullable String pageToken) {
        String t = Requests.tenant(tenant);
        Page page = Requests.page(pageSize, pageToken, (size, token) -> store.list(t, size, token));
        var quarantined = deadLetters.summaries(t, page.items().stream().map(Stored::id).toList());
        Map<String, RuleStore.Backfill> backfills = store.backfills(t, page.items());
        return new RuleResponse.Page(page.items().stream()
            .map(s -> RuleResponse.of(s, store.definition(s), status(s, backfills.get(s.id())), quarantined.getOrDefault(s.id(), DeadLetterStore.Summary.NONE))).toList(),
            page.nextPageToken());
    }

    @Get(uri = "/{id}", produces = MediaType.APPLICATION_JSON)
    public HttpResponse<RuleResponse> get(@Header(TallyHeaders.TENANT) @Nullable String tenant, @PathVariable String id) {
        Stored stored = store.find(Requests.tenant(tenant), id).orElseThrow(() -> notFound(id));
        return HttpResponse.ok(RuleResponse.of(stored, store.definition(stored), status(stored), deadLetters(stored)))
            .header("ETag", Requests.etag(stored.version()));
    }

    @Put(uri = "/{id}", consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    public HttpResponse<RuleResponse> replace(@Header(TallyHeaders.TENANT) @Nullable String tenant, @PathVariable String id,
                                              @Header("If-Match") @Nullable String ifMatch, @Body @Nullable byte[] body) {
        String t = Requests.tenant(tenant);
        RuleValidator.Result rule = Requests.replacement(() -> validated(body), () -> store.find(t, id).isPresent(), () -> notFound(id));
        Stored stored = store.replace(t, id, rule.definition(), Requests.ifMatch(ifMatch), rule.backfill()).orElseThrow(() -> notFound(id));
        LOG.info("tenant {} replaced rule {} (now version {}{})", t, id, stored.version(), backfillNote(rule));
        return HttpResponse.ok(RuleResponse.of(stored, rule.definition(), status(stored), deadLetters(stored))).header("ETag", Requests.etag(stored.version()));
    }

    private DeadLetterStore.Summary deadLetters(Stored stored) {
        return deadLetters.summaries(stored.tenant(), List.of(stored.id())).getOrDefault(stored.id(), DeadLetterStore.Summary.NONE);
    }

    @Delete(uri = "/{id}")
    public HttpResponse<Void> delete(@Header(TallyHeaders.TENANT) @Nullable String tenant, @PathVariable String id,
                                     @Header("If-Match") @Nullable String ifMatch) {
        if (!store.delete(Requests.tenant(tenant), id, Requests.ifMatch(ifMatch))) {
            throw notFound(id);
        }
        LOG.info("tenant {} deleted rule {}", Requests.tenant(tenant), id);
        return HttpResponse.noContent();
    }

    private static RuleValidator.Result validated(byte[] body) {
        RuleValidator.Result result = RuleValidator.validate(Requests.json(body));
        if (!result.valid()) {
            throw Requests.invalid("rule", result.violations());
        }
        return result;
    }

    private static String backfillNote(RuleValidator.Result rule) {
        return rule.backfill() == null ? "" : ", backfilling " + rule.backfill();
    }

    private RuleResponse.Status status(Stored stored) {
        return status(stored, store.backfill(stored).orElse(null));
    }

    /**
     * {@code pending} until every live aggregation instance has read past this version on tally.rules, then
     * {@code active}; {@code failed} (with the reason) when an instance reports it cannot run the version. A version with a
     * backfill is {@code backfilling} (with the progress its aggregation instance last reported) until the backfill ended:
     * then {@code pending} until every instance has read the record that switches it over, then {@code active}; or
     * {@code failed} with the reason (the version before keeps serving).
     */
    private RuleResponse.Status status(Stored stored, RuleStore.Backfill backfill) {
        Optional<String> failure = acks.failure(stored.tenant(), stored.id(), stored.version());
        if (failure.isPresent()) {
            return new RuleResponse.Status("failed", failure.get(), null);
        }
        if (backfill != null && RuleRecord.Backfill.RUNNING.equals(backfill.state())) {
            RuleResponse.Progress progress = acks.backfill(stored.tenant(), stored.id(), stored.version())
                .map(r -> new RuleResponse.Progress(r.eventsRead(), r.position(), r.estimatedSecondsLeft()))
                .orElse(new RuleResponse.Progress(0, null, null));
            return new RuleResponse.Status("backfilling", null, progress);
        }
        if (backfill != null && RuleRecord.Backfill.FAILED.equals(backfill.state())) {
            return new RuleResponse.Status("failed", "the backfill failed (the version before keeps serving): " + backfill.reason(), null);
        }
        boolean applied = stored.publishedOffset() != null && acks.appliedEverywhere(stored.publishedPartition(), stored.publishedOffset());
        return new RuleResponse.Status(applied ? "active" : "pending", null, null);
    }

    static ProblemException notFound(String id) {
        return ProblemException.notFound("No rule '" + id + "' for this tenant.");
    }
}
