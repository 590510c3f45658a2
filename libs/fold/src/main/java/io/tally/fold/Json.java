package io.tally.fold;

import io.tally.model.JsonText;

/** Minimal JSON text writing for group keys and topk values (hot path: no allocation beyond the builder). */
public final class Json {

    private Json() {
    }

    public static void appendValue(StringBuilder out, Object value) {
        switch (value) {
            case null -> out.append("null");
            case String s -> appendString(out, s);
            case Boolean b -> out.append(b.booleanValue());
            case Double d -> appendNumber(out, d);
            case Number n -> appendNumber(out, n.doubleValue());
            default -> appendString(out, value.toString());
        }
    }

    public static void appendNumber(StringBuilder out, double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            out.append((long) d);
        } else {
            out.append(d);
        }
    }

    public static void appendString(StringBuilder out, String s) {
        JsonText.append(out, s);
    }

    public static String value(Object value) {
        StringBuilder out = new StringBuilder();
        appendValue(out, value);
        return out.toString();
    }
}
