package io.tally.internal;

import io.micronaut.context.annotation.Value;
import io.tally.model.TimeSource;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * The fleet's internal key ({@code TALLY_INTERNAL_KEY}): the gateway signs every request it forwards with it and
 * every service verifies. Without one, a service on loopback uses the published development key; anywhere else
 * it refuses to start, since anyone who can reach its port could then act as any tenant.
 */
@Singleton
public class InternalKey {

    private static final Logger LOG = LoggerFactory.getLogger(InternalKey.class);
    /** Published, for local development only: accepted only while the service listens on loopback. */
    public static final String DEVELOPMENT_KEY = "tally-development-internal-key-do-not-use-in-production";
    static final int MIN_LENGTH = 32;

    private final byte[] key;
    private final TimeSource time;

    public InternalKey(@Value("${tally.internal.key:}") String key, @Value("${micronaut.server.host:127.0.0.1}") String bindHost, TimeSource time) {
        this.time = time;
        this.key = choose(key, bindHost).getBytes(StandardCharsets.UTF_8);
    }

    /** The key to sign and verify with, or {@link IllegalStateException} saying what to set. */
    static String choose(String key, String bindHost) {
        boolean loopback = Loopback.is(bindHost);
        if (key == null || key.isEmpty()) {
            if (!loopback) {
                throw new IllegalStateException("this service listens on " + bindHost + " but TALLY_INTERNAL_KEY is not set: anyone reaching it"
                    + " could act as any tenant. Set TALLY_INTERNAL_KEY (the same value, at least " + MIN_LENGTH
                    + " random characters, on the gateway and every service).");
            }
            LOG.info("TALLY_INTERNAL_KEY is not set: using the development key (accepted on loopback only)");
            return DEVELOPMENT_KEY;
        }
        if (key.equals(DEVELOPMENT_KEY) && !loopback) {
            throw new IllegalStateException("TALLY_INTERNAL_KEY is the published development key while this service listens on " + bindHost
                + ". Set a key of your own (at least " + MIN_LENGTH + " random characters).");
        }
        if (key.length() < MIN_LENGTH) {
            throw new IllegalStateException("TALLY_INTERNAL_KEY is " + key.length() + " characters long; use at least " + MIN_LENGTH + " random ones.");
        }
        return key;
    }

    public byte[] bytes() {
        return key.clone();
    }

    /** Signs a request of the caller to another service ({@link InternalToken}). */
    public String sign(String tenant, List<String> roles, String method, String path) {
        return InternalToken.sign(key, tenant, roles, method, path, time.millis());
    }

    /**
     * A signature under the development key, for tools and tests that call a service of a local stack directly
     * (as the gateway would); {@code path} may carry a query, which is not signed.
     */
    public static String developmentSignature(String tenant, List<String> roles, String method, String path) {
        int query = path.indexOf('?');
        return InternalToken.sign(DEVELOPMENT_KEY.getBytes(StandardCharsets.UTF_8), tenant, roles, method,
            query < 0 ? path : path.substring(0, query), TimeSource.SYSTEM.millis());
    }

    Optional<InternalToken.Claims> verify(String token) {
        return InternalToken.verify(key, token, time.millis());
    }
}
