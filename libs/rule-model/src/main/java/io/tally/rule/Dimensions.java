package io.tally.rule;

import java.util.List;
import java.util.regex.Pattern;

/**
 * What a rule can group by and read: the event's dimensions ({@code category}, {@code type}, {@code geo},
 * {@code source}), its {@code value}, and {@code attributes.<key>}.
 */
public final class Dimensions {

    private Dimensions() {
    }

    /** The event's own dimensions. */
    public static final List<String> NAMES = List.of("category", "type", "geo", "source");
    /** The event's number. */
    public static final String VALUE = "value";
    /** The prefix of an attribute's field name. */
    public static final String ATTRIBUTE_PREFIX = "attributes.";
    /** What an attribute's key may be. */
    public static final Pattern ATTRIBUTE_KEY = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    /** A dimension of the event or {@code attributes.<key>} with a valid key: what a rule can group by. */
    public static boolean isDimension(String name) {
        return NAMES.contains(name) || isAttribute(name);
    }

    /** {@code attributes.<key>} with a key matching {@link #ATTRIBUTE_KEY}. */
    public static boolean isAttribute(String name) {
        return name.startsWith(ATTRIBUTE_PREFIX) && ATTRIBUTE_KEY.matcher(name.substring(ATTRIBUTE_PREFIX.length())).matches();
    }

    /** What a numeric operation can read: value or an attribute. */
    public static boolean isNumericField(String name) {
        return VALUE.equals(name) || isAttribute(name);
    }

    /** What a valued operation can read: a dimension, value or an attribute. */
    public static boolean isField(String name) {
        return VALUE.equals(name) || isDimension(name);
    }
}
