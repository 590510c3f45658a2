package io.tally.rule;

import io.tally.model.Event;

/** A dimension or field of an event: {@code category}, {@code type}, {@code geo}, {@code source}, {@code value} or {@code attributes.<key>}. */
public record FieldRef(String path, String attribute) {

    public static FieldRef of(String path) {
        if (path.startsWith(Dimensions.ATTRIBUTE_PREFIX) && path.length() > Dimensions.ATTRIBUTE_PREFIX.length()) {
            return new FieldRef(path, path.substring(Dimensions.ATTRIBUTE_PREFIX.length()));
        }
        if (Dimensions.NAMES.contains(path) || Dimensions.VALUE.equals(path)) {
            return new FieldRef(path, null);
        }
        throw new IllegalArgumentException("unknown field " + path);
    }

    /** The raw value: String, Double or Boolean; null when the event lacks it. */
    public Object read(Event e) {
        if (attribute != null) {
            return e.attributes().get(attribute);
        }
        return switch (path) {
            case "category" -> e.category();
            case "type" -> e.type();
            case "geo" -> e.geo();
            case "source" -> e.source();
            case "value" -> e.value();
            default -> null;
        };
    }

    /** The numeric value, or null when the event has no number there. */
    public Double number(Event e) {
        return read(e) instanceof Double d ? d : null;
    }
}
