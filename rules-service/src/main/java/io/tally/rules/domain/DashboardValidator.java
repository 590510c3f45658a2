package io.tally.rules.domain;

import io.tally.model.JsonPointer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Validates a dashboard body's shape (API.md, "Dashboards"); that each query's rule exists for the
 * tenant and groups by the named dimensions is checked against the store by the caller.
 */
public final class DashboardValidator {

    public static final int MAX_QUERIES = 20;
    private static final Set<String> FIELDS = Set.of("name", "queries", "id", "version", "createdAt", "updatedAt");
    private static final Set<String> QUERY_FIELDS = Set.of("ruleId", "groups");

    /** A validated definition, or the problems that prevent one. */
    public record Result(DashboardDefinition definition, List<Violation> violations) {
        public boolean valid() {
            return violations.isEmpty();
        }
    }

    private DashboardValidator() {
    }

    public static Result validate(Object body) {
        List<Violation> violations = new ArrayList<>();
        Checks checks = new Checks(violations);
        Map<String, Object> dashboard = checks.object(body, "", "the dashboard");
        if (dashboard == null) {
            return new Result(null, violations);
        }
        checks.onlyKnown(dashboard, "", FIELDS);
        String name = dashboard.get("name") == null ? null : checks.string(dashboard.get("name"), "/name", 200);
        List<DashboardDefinition.Query> queries = new ArrayList<>();
        List<Object> list = dashboard.get("queries") == null ? null : checks.array(dashboard.get("queries"), "/queries");
        if (dashboard.get("queries") == null) {
            checks.add("/queries", "required: 1.." + MAX_QUERIES + " queries");
        } else if (list != null && (list.isEmpty() || list.size() > MAX_QUERIES)) {
            checks.add("/queries", "must hold 1.." + MAX_QUERIES + " queries");
        }
        for (int i = 0; list != null && i < list.size(); i++) {
            String pointer = "/queries/" + i;
            Map<String, Object> query = checks.object(list.get(i), pointer, "a query");
            if (query == null) {
                continue;
            }
            checks.onlyKnown(query, pointer, QUERY_FIELDS);
            String ruleId = checks.requiredString(query, "ruleId", pointer + "/ruleId", 128);
            Map<String, String> groups = new LinkedHashMap<>();
            if (query.get("groups") != null) {
                Map<String, Object> given = checks.object(query.get("groups"), pointer + "/groups", "groups");
                if (given != null) {
                    given.forEach((dim, value) -> {
                        String at = JsonPointer.child(pointer + "/groups", dim);
                        if (!RuleValidator.isDimension(dim)) {
                            checks.add(at, "'" + dim + "' is not a dimension; use category, type, geo, source or attributes.<key>");
                        } else if (value != null && !(value instanceof String)) {
                            checks.add(at, "must be a string (or null for events without this dimension)");
                        } else {
                            groups.put(dim, (String) value);
                        }
                    });
                }
            }
            queries.add(new DashboardDefinition.Query(ruleId, groups));
        }
        if (!checks.ok()) {
            return new Result(null, violations);
        }
        return new Result(new DashboardDefinition(name, List.copyOf(queries)), List.of());
    }
}
