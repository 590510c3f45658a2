package io.tally.query.api;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Header;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.tally.model.TallyHeaders;
import io.tally.model.Tenants;
import io.tally.problem.ProblemException;

import java.util.LinkedHashMap;
import java.util.Map;

/** {@code GET /api/v1/rules/{id}/results} and {@code /top} (see API.md, "Results"). */
@Controller("/api/v1/rules/{id}")
@ExecuteOn(TaskExecutors.BLOCKING)
public class ResultsController {

    private final ResultsService results;

    public ResultsController(ResultsService results) {
        this.results = results;
    }

    @Get(uri = "/results", produces = MediaType.APPLICATION_JSON)
    public HttpResponse<Responses.Results> results(HttpRequest<?> request, @Header(TallyHeaders.TENANT) @Nullable String tenant, @PathVariable String id,
                                     @QueryValue @Nullable String from, @QueryValue @Nullable String to,
                                     @QueryValue @Nullable String resolution) {
        Map<String, String> groups = new LinkedHashMap<>();
        request.getParameters().forEach((name, values) -> {
            if (name.startsWith("group.") && !values.isEmpty()) {
                groups.put(name.substring("group.".length()), values.getFirst());
            }
        });
        return answer(results.results(tenant(tenant), id, from, to, groups, resolution));
    }

    @Get(uri = "/top", produces = MediaType.APPLICATION_JSON)
    public HttpResponse<Responses.Top> top(@Header(TallyHeaders.TENANT) @Nullable String tenant, @PathVariable String id,
                             @QueryValue @Nullable String metric, @QueryValue @Nullable Integer k, @QueryValue @Nullable String window,
                             @QueryValue @Nullable String resolution) {
        return answer(results.top(tenant(tenant), id, metric, k, window, resolution));
    }

    private static <T> HttpResponse<T> answer(ResultsService.Answer<T> answer) {
        return HttpResponse.ok(answer.body()).header(ResultsService.VALUES_READ, Long.toString(answer.valuesRead()));
    }

    private static String tenant(String tenant) {
        if (!Tenants.isValid(tenant)) {
            throw ProblemException.unauthorized("No tenant: queries reach Tally through the API gateway with a bearer token.");
        }
        return tenant;
    }
}
