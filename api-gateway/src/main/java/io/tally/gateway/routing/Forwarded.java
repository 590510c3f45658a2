package io.tally.gateway.routing;

import java.util.List;
import java.util.Map;

/**
 * A downstream's answer, to be relayed as it is (status, the headers clients need, body), and what the gateway itself
 * reads from it: {@code valuesRead}, the stored values a query read (the query service's {@code X-Tally-Values-Read};
 * empty from other services).
 */
public record Forwarded(int status, Map<String, List<String>> headers, byte[] body, List<String> valuesRead) {

    /** The header a query answer carries its values read in. */
    public static final String VALUES_READ = "x-tally-values-read";
}
