package io.tally.subscription.domain;

import io.tally.model.JsonPointer;
import io.tally.model.JsonText;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What a client sends on its socket (API.md, "Live subscriptions"), checked: a {@link Subscribe}, an
 * {@link Unsubscribe}, or {@link Invalid} with the detail and the JSON pointer of what is wrong.
 */
public sealed interface ClientMessage {

    int MAX_ID_LENGTH = 200;

    /** The largest message version a client may resume from: 2^53 - 1. */
    long MAX_VERSION = (1L << 53) - 1;

    /** The client's name for the subscription, or null when the message had none usable. */
    String id();

    /** Subscribe to a rule (optionally to some groups) or to a saved dashboard, optionally resuming. */
    record Subscribe(String id, String ruleId, String dashboardId, Map<String, String> groups, Long resumeVersion) implements ClientMessage {

        /** What the subscription follows, as a resume must find it again. */
        public String target() {
            return ruleId != null ? "rule:" + ruleId + ":" + new TreeMap<>(groups) : "dashboard:" + dashboardId;
        }
    }

    record Unsubscribe(String id) implements ClientMessage {
    }

    /** Follow the tenant's events as the event log takes them (sampled): {@code {"op":"tail","id":"…"}}. */
    record Tail(String id) implements ClientMessage {
    }

    /** A message refused with 400: {@link #json()} is the error to send back. */
    record Invalid(String id, String detail, String pointer) implements ClientMessage {

        public String json() {
            return Messages.error(id, 400, "Bad Request", detail, pointer);
        }
    }

    /** Checks a message parsed as a JSON object ({@code null} for any other JSON). */
    static ClientMessage of(Map<String, Object> message) {
        if (message == null) {
            return new Invalid(null, "A message must be one JSON object, such as {\"op\":\"subscribe\",\"id\":\"a\",\"ruleId\":\"…\"}.", "");
        }
        String id = message.get("id") instanceof String s ? s : null;
        if (!(message.get("op") instanceof String op)) {
            return new Invalid(id, "op must be \"subscribe\", \"tail\" or \"unsubscribe\".", "/op");
        }
        if (id == null || id.isEmpty() || id.length() > MAX_ID_LENGTH) {
            return new Invalid(null, "id must be a string of 1 to " + MAX_ID_LENGTH
                + " characters that names the subscription in every message about it.", "/id");
        }
        return switch (op) {
            case "subscribe" -> subscribe(id, message);
            case "unsubscribe" -> unsubscribe(id, message);
            case "tail" -> tail(id, message);
            default -> new Invalid(id, "op must be \"subscribe\", \"tail\" or \"unsubscribe\", not " + JsonText.quote(op) + ".", "/op");
        };
    }

    private static ClientMessage tail(String id, Map<String, Object> message) {
        for (String field : message.keySet()) {
            if (!field.equals("op") && !field.equals("id")) {
                return new Invalid(id, "tail takes only op and id; " + field + " is not one of them.", JsonPointer.child("", field));
            }
        }
        return new Tail(id);
    }

    private static ClientMessage unsubscribe(String id, Map<String, Object> message) {
        for (String field : message.keySet()) {
            if (!field.equals("op") && !field.equals("id")) {
                return new Invalid(id, "unsubscribe takes only op and id; " + field + " is not one of them.", JsonPointer.child("", field));
            }
        }
        return new Unsubscribe(id);
    }

    private static ClientMessage subscribe(String id, Map<String, Object> message) {
        Set<String> fields = Set.of("op", "id", "ruleId", "dashboardId", "groups", "resumeVersion");
        for (String field : message.keySet()) {
            if (!fields.contains(field)) {
                return new Invalid(id, field + " is not a field of subscribe; use ruleId or dashboardId, groups, resumeVersion.",
                    JsonPointer.child("", field));
            }
        }
        Object ruleId = message.get("ruleId");
        Object dashboardId = message.get("dashboardId");
        if ((ruleId == null) == (dashboardId == null)) {
            return new Invalid(id, "subscribe needs exactly one of ruleId and dashboardId.", ruleId == null ? "/ruleId" : "/dashboardId");
        }
        if (ruleId != null && (!(ruleId instanceof String r) || r.isEmpty() || r.length() > MAX_ID_LENGTH)) {
            return new Invalid(id, "ruleId must be a rule's id (a string of at most " + MAX_ID_LENGTH + " characters).", "/ruleId");
        }
        if (dashboardId != null && (!(dashboardId instanceof String d) || d.isEmpty() || d.length() > MAX_ID_LENGTH)) {
            return new Invalid(id, "dashboardId must be a dashboard's id (a string of at most " + MAX_ID_LENGTH + " characters).", "/dashboardId");
        }
        Map<String, String> groups = new LinkedHashMap<>();
        Object rawGroups = message.get("groups");
        if (rawGroups != null) {
            if (dashboardId != null) {
                return new Invalid(id, "groups applies to a rule; a dashboard's saved queries carry their own.", "/groups");
            }
            if (!(rawGroups instanceof Map<?, ?> map)) {
                return new Invalid(id, "groups must be an object of dimension → value, such as {\"category\":\"sports\"}.", "/groups");
            }
            for (Map.Entry<?, ?> e : map.entrySet()) {
                Object v = e.getValue();
                if (!(v instanceof String || v instanceof Number || v instanceof Boolean)) {
                    return new Invalid(id, "a group value must be a string, number or boolean.", JsonPointer.child("/groups", String.valueOf(e.getKey())));
                }
                groups.put(String.valueOf(e.getKey()), v instanceof Double d && d == Math.rint(d) && !Double.isInfinite(d)
                    ? Long.toString(d.longValue()) : String.valueOf(v));
            }
        }
        Long resumeVersion = null;
        Object resume = message.get("resumeVersion");
        if (resume != null) {
            // At most 2^53 - 1, the largest whole number every JSON client holds exactly; a version past it (or an
            // infinite one) would wrap the subscription's numbering below zero.
            if (!(resume instanceof Number n) || !Double.isFinite(n.doubleValue()) || n.doubleValue() != Math.rint(n.doubleValue())
                || n.doubleValue() < 0 || n.doubleValue() > MAX_VERSION) {
                return new Invalid(id, "resumeVersion must be the whole number (0 to " + MAX_VERSION
                    + ") of the last message the client received.", "/resumeVersion");
            }
            resumeVersion = n.longValue();
        }
        return new Subscribe(id, (String) ruleId, (String) dashboardId, groups, resumeVersion);
    }
}
