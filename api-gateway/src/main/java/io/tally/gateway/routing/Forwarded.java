package io.tally.gateway.routing;

import java.util.List;
import java.util.Map;

/** A downstream's answer, to be relayed as it is (status, the headers clients need, body). */
public record Forwarded(int status, Map<String, List<String>> headers, byte[] body) {
}
