package io.tally.rules.api;

import io.tally.model.Tenants;
import io.tally.problem.FieldError;
import io.tally.problem.ProblemException;
import io.tally.rules.domain.JsonTree;
import io.tally.rules.domain.Violation;
import io.tally.rules.persistence.Page;

import java.util.List;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** What every rules and dashboards endpoint does with headers, bodies and paging parameters. */
final class Requests {

    static final int DEFAULT_PAGE_SIZE = 20;
    static final int MAX_PAGE_SIZE = 100;

    private Requests() {
    }

    static String tenant(String tenant) {
        if (!Tenants.isValid(tenant)) {
            throw ProblemException.unauthorized("No tenant: rules and dashboards are reached through the API gateway with a bearer token.");
        }
        return tenant;
    }

    static Object json(byte[] body) {
        try {
            return JsonTree.parse(body == null ? new byte[0] : body);
        } catch (JsonTree.MalformedJson e) {
            throw ProblemException.invalid("The body is not valid JSON or cannot be stored; nothing was changed.",
                List.of(new FieldError(e.pointer(), e.getMessage())));
        }
    }

    static ProblemException invalid(String what, List<Violation> violations) {
        return ProblemException.invalid((violations.size() == 1 ? "The " + what + " has a problem" : "The " + what + " has "
            + violations.size() + " problems") + "; nothing was changed.",
            violations.stream().map(v -> new FieldError(v.pointer(), v.message())).toList());
    }

    /**
     * The version an {@code If-Match} header requires: null when absent or {@code *}. Accepts {@code "3"},
     * {@code W/"3"} and a bare {@code 3}; anything else can match no version (→ 412).
     */
    static Integer ifMatch(String header) {
        if (header == null || header.isBlank() || header.trim().equals("*")) {
            return null;
        }
        String tag = header.trim();
        if (tag.startsWith("W/")) {
            tag = tag.substring(2);
        }
        if (tag.length() >= 2 && tag.startsWith("\"") && tag.endsWith("\"")) {
            tag = tag.substring(1, tag.length() - 1);
        }
        try {
            return Integer.parseInt(tag);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static String etag(int version) {
        return "\"" + version + "\"";
    }

    static int pageSize(String pageSize) {
        if (pageSize == null || pageSize.isBlank()) {
            return DEFAULT_PAGE_SIZE;
        }
        try {
            int size = Integer.parseInt(pageSize.trim());
            if (size >= 1 && size <= MAX_PAGE_SIZE) {
                return size;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ProblemException.invalid("pageSize must be a whole number 1.." + MAX_PAGE_SIZE + ".",
            List.of(new FieldError("/pageSize", "must be a whole number 1.." + MAX_PAGE_SIZE)));
    }

    /** One page from {@code list(pageSize, pageToken)}, with the paging parameters checked as API.md says. */
    static Page page(String pageSize, String pageToken,
                                                BiFunction<Integer, String, Page> list) {
        int size = pageSize(pageSize);
        try {
            return list.apply(size, pageToken == null || pageToken.isEmpty() ? null : pageToken);
        } catch (IllegalArgumentException e) {
            throw badPageToken();
        }
    }

    /**
     * A replacement body, validated. An unknown id is a 404 even when the body is wrong too; whether the id
     * exists is only asked then (the replace itself answers it for a valid body).
     */
    static <D> D replacement(Supplier<D> validate, BooleanSupplier exists,
                             Supplier<ProblemException> notFound) {
        try {
            return validate.get();
        } catch (ProblemException invalid) {
            throw exists.getAsBoolean() ? invalid : notFound.get();
        }
    }

    private static ProblemException badPageToken() {
        return ProblemException.invalid("pageToken is not one this API handed out; start again without it.",
            List.of(new FieldError("/pageToken", "unknown page token; use the nextPageToken of a previous page")));
    }
}
