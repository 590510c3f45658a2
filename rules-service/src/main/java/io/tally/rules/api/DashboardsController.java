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
import io.tally.model.JsonPointer;
import io.tally.model.TallyHeaders;
import io.tally.problem.ProblemException;
import io.tally.rules.domain.DashboardDefinition;
import io.tally.rules.domain.DashboardValidator;
import io.tally.rules.domain.JsonTree;
import io.tally.rules.domain.RuleDefinition;
import io.tally.rules.domain.Violation;
import io.tally.rules.persistence.DashboardStore;
import io.tally.rules.persistence.Page;
import io.tally.rules.persistence.RuleStore;
import io.tally.rules.persistence.Stored;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Dashboards (saved queries) CRUD, shaped like rules; every query must name one of the tenant's rules. */
@Controller("/api/v1/dashboards")
@ExecuteOn(TaskExecutors.BLOCKING)
public class DashboardsController {

    private final DashboardStore store;
    private final RuleStore rules;

    public DashboardsController(DashboardStore store, RuleStore rules) {
        this.store = store;
        this.rules = rules;
    }

    @Post(consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    public HttpResponse<DashboardResponse> create(@Header(TallyHeaders.TENANT) @Nullable String tenant, @Body @Nullable byte[] body) {
        String t = Requests.tenant(tenant);
        DashboardDefinition definition = validated(t, body);
        Stored stored = store.create(t, definition);
        return HttpResponse.created(DashboardResponse.of(stored, definition), URI.create("/api/v1/dashboards/" + stored.id()))
            .header("ETag", Requests.etag(stored.version()));
    }

    @Get(produces = MediaType.APPLICATION_JSON)
    public DashboardResponse.Page list(@Header(TallyHeaders.TENANT) @Nullable String tenant,
                                       @QueryValue @Nullable String pageSize, @QueryValue @Nullable String pageToken) {
        String t = Requests.tenant(tenant);
        Page page = Requests.page(pageSize, pageToken, (size, token) -> store.list(t, size, token));
        return new DashboardResponse.Page(page.items().stream().map(s -> DashboardResponse.of(s, store.definition(s))).toList(),
            page.nextPageToken());
    }

    @Get(uri = "/{id}", produces = MediaType.APPLICATION_JSON)
    public HttpResponse<DashboardResponse> get(@Header(TallyHeaders.TENANT) @Nullable String tenant, @PathVariable String id) {
        Stored stored = store.find(Requests.tenant(tenant), id).orElseThrow(() -> notFound(id));
        return HttpResponse.ok(DashboardResponse.of(stored, store.definition(stored))).header("ETag", Requests.etag(stored.version()));
    }

    @Put(uri = "/{id}", consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    public HttpResponse<DashboardResponse> replace(@Header(TallyHeaders.TENANT) @Nullable String tenant, @PathVariable String id,
                                                   @Header("If-Match") @Nullable String ifMatch, @Body @Nullable byte[] body) {
        String t = Requests.tenant(tenant);
        DashboardDefinition definition = Requests.replacement(() -> validated(t, body), () -> store.find(t, id).isPresent(), () -> notFound(id));
        Stored stored = store.replace(t, id, definition, Requests.ifMatch(ifMatch)).orElseThrow(() -> notFound(id));
        return HttpResponse.ok(DashboardResponse.of(stored, definition)).header("ETag", Requests.etag(stored.version()));
    }

    @Delete(uri = "/{id}")
    public HttpResponse<Void> delete(@Header(TallyHeaders.TENANT) @Nullable String tenant, @PathVariable String id,
                                     @Header("If-Match") @Nullable String ifMatch) {
        if (!store.delete(Requests.tenant(tenant), id, Requests.ifMatch(ifMatch))) {
            throw notFound(id);
        }
        return HttpResponse.noContent();
    }

    /** Shape first; then each query's rule must exist for this tenant and group by the dimensions it names. */
    private DashboardDefinition validated(String tenant, byte[] body) {
        DashboardValidator.Result result = DashboardValidator.validate(Requests.json(body));
        if (!result.valid()) {
            throw Requests.invalid("dashboard", result.violations());
        }
        List<Violation> violations = new ArrayList<>();
        List<DashboardDefinition.Query> queries = result.definition().queries();
        for (int i = 0; i < queries.size(); i++) {
            DashboardDefinition.Query query = queries.get(i);
            Optional<Stored> rule = rules.find(tenant, query.ruleId());
            if (rule.isEmpty()) {
                violations.add(new Violation("/queries/" + i + "/ruleId", "no rule '" + query.ruleId() + "' for this tenant"));
                continue;
            }
            RuleDefinition definition = rules.definition(rule.get());
            for (String dim : query.groups().keySet()) {
                if (!definition.groupBy().contains(dim)) {
                    violations.add(new Violation(JsonPointer.child("/queries/" + i + "/groups", dim),
                        "the rule does not group by '" + dim + "'" + (definition.groupBy().isEmpty() ? ""
                            : "; it groups by " + String.join(", ", definition.groupBy()))));
                }
            }
        }
        if (!violations.isEmpty()) {
            throw Requests.invalid("dashboard", violations);
        }
        return result.definition();
    }

    private static ProblemException notFound(String id) {
        return ProblemException.notFound("No dashboard '" + id + "' for this tenant.");
    }
}
