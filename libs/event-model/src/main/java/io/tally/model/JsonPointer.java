package io.tally.model;

/** JSON pointers (RFC 6901) as the fleet's problem details and socket errors name the field at fault. */
public final class JsonPointer {

    private JsonPointer() {
    }

    /** One reference token: '~' becomes "~0" and '/' becomes "~1". */
    public static String escape(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }

    /** {@code parent} followed by one more token, escaped: {@code child("/groups", "a/b")} is {@code /groups/a~1b}. */
    public static String child(String parent, String token) {
        return parent + "/" + escape(token);
    }
}
