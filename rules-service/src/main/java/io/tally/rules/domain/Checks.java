package io.tally.rules.domain;

import io.tally.model.JsonPointer;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** Collects every problem of one request body; each check names the pointer it looked at. */
final class Checks {

    private final List<Violation> violations;

    Checks(List<Violation> violations) {
        this.violations = violations;
    }

    void add(String pointer, String message) {
        violations.add(new Violation(pointer, message));
    }

    boolean ok() {
        return violations.isEmpty();
    }

    /** The object at {@code pointer}, or null (with a violation when it is not an object). */
    @SuppressWarnings("unchecked")
    Map<String, Object> object(Object value, String pointer, String what) {
        if (value instanceof Map<?, ?> map) {
            return (Map<String, Object>) map;
        }
        add(pointer, what + " must be a JSON object");
        return null;
    }

    /** Names each member that is not one of {@code known} (unknown fields are a 400). */
    void onlyKnown(Map<String, Object> object, String pointer, Set<String> known) {
        for (String key : object.keySet()) {
            if (!known.contains(key)) {
                add(JsonPointer.child(pointer, key), "unknown field; allowed here: " + String.join(", ", known.stream().sorted().toList()));
            }
        }
    }

    /** A required string of 1..max characters. */
    String requiredString(Map<String, Object> object, String field, String pointer, int max) {
        if (!object.containsKey(field) || object.get(field) == null) {
            add(pointer, "required");
            return null;
        }
        return string(object.get(field), pointer, max);
    }

    String string(Object value, String pointer, int max) {
        if (!(value instanceof String s)) {
            add(pointer, "must be a string");
            return null;
        }
        if (s.isBlank()) {
            add(pointer, "must not be blank");
            return null;
        }
        if (s.codePointCount(0, s.length()) > max) {
            add(pointer, "must be at most " + max + " characters");
            return null;
        }
        return s;
    }

    @SuppressWarnings("unchecked")
    List<Object> array(Object value, String pointer) {
        if (value instanceof List<?> list) {
            return (List<Object>) list;
        }
        add(pointer, "must be a JSON array");
        return null;
    }
}
