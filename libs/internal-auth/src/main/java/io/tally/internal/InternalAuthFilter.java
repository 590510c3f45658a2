package io.tally.internal;

import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.tally.model.TallyHeaders;
import io.tally.problem.Problem;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Every request to a service's API ({@code /api/**}, the subscription socket's upgrade included) must carry the
 * gateway's signed word ({@link InternalToken}) for this very method and path, and its tenant and roles headers
 * must be the ones signed. Anything else is 401, before any controller sees it: a tenant header alone opens
 * nothing. Health and metrics are not under {@code /api}.
 */
@ServerFilter("/api/**")
@Requires(property = "tally.internal.verify", notEquals = "false")
public class InternalAuthFilter {

    private final InternalKey key;

    public InternalAuthFilter(InternalKey key) {
        this.key = key;
    }

    @RequestFilter
    @Nullable
    public HttpResponse<?> verify(HttpRequest<?> request) {
        String token = request.getHeaders().get(InternalToken.HEADER);
        if (token == null) {
            return refuse(request, "This service answers only requests the gateway forwards; send this request through the gateway.");
        }
        Optional<InternalToken.Claims> claims = key.verify(token);
        if (claims.isEmpty()) {
            return refuse(request, "The request's " + InternalToken.HEADER + " is not valid (wrong key, expired or altered).");
        }
        InternalToken.Claims c = claims.get();
        String tenant = request.getHeaders().get(TallyHeaders.TENANT);
        String roles = request.getHeaders().get(TallyHeaders.ROLES);
        boolean samePath = c.path().equals(request.getUri().getRawPath()) || c.path().equals(request.getPath());
        if (!c.method().equals(request.getMethodName()) || !samePath
            || !c.tenant().equals(tenant) || !sameRoles(c.roles(), roles)) {
            return refuse(request, "The request's " + InternalToken.HEADER + " was signed for another request.");
        }
        return null;
    }

    private static boolean sameRoles(List<String> signed, @Nullable String header) {
        List<String> sent = header == null || header.isEmpty() ? List.of() : Arrays.stream(header.split(",")).map(String::trim).sorted().toList();
        return signed.stream().sorted().toList().equals(sent);
    }

    private static HttpResponse<?> refuse(HttpRequest<?> request, String detail) {
        return HttpResponse.status(HttpStatus.UNAUTHORIZED)
            .contentType(MediaType.of(Problem.MEDIA_TYPE))
            .body(new Problem(Problem.BLANK_TYPE, "Unauthorized", 401, detail, request.getPath(), null));
    }
}
