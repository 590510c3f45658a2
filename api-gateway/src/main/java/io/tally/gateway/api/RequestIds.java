package io.tally.gateway.api;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ResponseFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.tally.model.TallyHeaders;

import java.util.UUID;
import java.util.regex.Pattern;

/** Every response carries X-Request-Id: the client's (when sane) or a new one, also sent downstream for correlation. */
@ServerFilter(ServerFilter.MATCH_ALL_PATTERN)
public class RequestIds {

    static final String ATTRIBUTE = "tally.requestId";
    private static final Pattern SANE = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

    @RequestFilter
    public void assign(HttpRequest<?> request) {
        String given = request.getHeaders().get(TallyHeaders.REQUEST_ID);
        request.setAttribute(ATTRIBUTE, given != null && SANE.matcher(given).matches() ? given : UUID.randomUUID().toString());
    }

    @ResponseFilter
    public void echo(HttpRequest<?> request, MutableHttpResponse<?> response) {
        request.getAttribute(ATTRIBUTE, String.class).ifPresent(id -> response.header(TallyHeaders.REQUEST_ID, id));
    }

    static String of(HttpRequest<?> request) {
        return request.getAttribute(ATTRIBUTE, String.class).orElseGet(() -> UUID.randomUUID().toString());
    }
}
