package io.tally.internal;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The gateway's word that it authenticated a request, carried to a service in {@link #HEADER}: who (tenant and
 * roles), for what (method and path) and until when, signed with HMAC-SHA256 under the fleet's internal key.
 * A service verifies it before anything else ({@link InternalAuthFilter}); a copy is good for one method and
 * path only and for {@link #LIFETIME_MILLIS} at most, so a captured header opens nothing else.
 *
 * <p>Format: {@code v1.<base64url(tenant \n roles \n method \n path \n expiresAtMillis)>.<base64url(hmac)>},
 * roles comma separated and sorted.
 */
public final class InternalToken {

    /** The header the gateway (or a service calling another) sets on every internal request. */
    public static final String HEADER = "X-Tally-Auth";
    /** How long a signed request stays valid: it is used at once, the margin covers clocks a little apart. */
    public static final long LIFETIME_MILLIS = 60_000;

    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

    /** What the gateway vouches for. */
    public record Claims(String tenant, List<String> roles, String method, String path, long expiresAtMillis) {

        /** The roles as the services' {@code X-Tally-Roles} header carries them. */
        public String rolesHeader() {
            return String.join(",", roles);
        }
    }

    private InternalToken() {
    }

    /** Signs a request to {@code path} (no query) with {@code method}, valid {@link #LIFETIME_MILLIS} from {@code nowMillis}. */
    public static String sign(byte[] key, String tenant, List<String> roles, String method, String path, long nowMillis) {
        String payload = String.join("\n", tenant, String.join(",", roles.stream().sorted().toList()), method.toUpperCase(Locale.ROOT),
            path, Long.toString(nowMillis + LIFETIME_MILLIS));
        byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
        return "v1." + ENCODER.encodeToString(bytes) + "." + ENCODER.encodeToString(hmac(key, bytes));
    }

    /** The claims of a token that is well formed, signed with {@code key} and not expired at {@code nowMillis}; else empty. */
    public static Optional<Claims> verify(byte[] key, String token, long nowMillis) {
        if (token == null || token.length() > 8192 || !token.startsWith("v1.")) {
            return Optional.empty();
        }
        int dot = token.indexOf('.', 3);
        if (dot < 0 || token.indexOf('.', dot + 1) >= 0) {
            return Optional.empty();
        }
        byte[] payload;
        byte[] signature;
        try {
            payload = DECODER.decode(token.substring(3, dot));
            signature = DECODER.decode(token.substring(dot + 1));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        if (!MessageDigest.isEqual(hmac(key, payload), signature)) {
            return Optional.empty();
        }
        String[] parts = new String(payload, StandardCharsets.UTF_8).split("\n", -1);
        if (parts.length != 5) {
            return Optional.empty();
        }
        long expires;
        try {
            expires = Long.parseLong(parts[4]);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        if (nowMillis > expires || expires - nowMillis > 2 * LIFETIME_MILLIS) {
            return Optional.empty();
        }
        List<String> roles = parts[1].isEmpty() ? List.of() : List.of(parts[1].split(","));
        return Optional.of(new Claims(parts[0], roles, parts[2], parts[3], expires));
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no HmacSHA256", e);
        }
    }
}
