package io.tally.subscription.domain;

import io.tally.model.JsonText;

/** Server messages that are not built from windows. */
public final class Messages {

    private Messages() {
    }

    /** {@code {"type":"error","id"?,"status","title","detail","pointer"?}}. */
    public static String error(String id, int status, String title, String detail, String pointer) {
        StringBuilder out = new StringBuilder("{\"type\":\"error\"");
        if (id != null) {
            out.append(",\"id\":").append(JsonText.quote(id));
        }
        out.append(",\"status\":").append(status).append(",\"title\":").append(JsonText.quote(title))
            .append(",\"detail\":").append(JsonText.quote(detail));
        if (pointer != null) {
            out.append(",\"pointer\":").append(JsonText.quote(pointer));
        }
        return out.append('}').toString();
    }

    public static String unsubscribed(String id) {
        return "{\"type\":\"unsubscribed\",\"id\":" + JsonText.quote(id) + "}";
    }
}
