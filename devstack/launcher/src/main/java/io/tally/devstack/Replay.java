package io.tally.devstack;

import com.nimbusds.jose.util.JSONObjectUtils;

import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code ./tally replay --tenant T [--rule R] --from <instant | duration ago>}: asks the gateway to rebuild a tenant's rules
 * (or one) from the event log ({@code POST /api/v1/admin/replay}, with an admin token of that tenant), then shows each
 * rule's backfill (records read, position, time left) until every one serves its rebuilt version or one failed.
 */
final class Replay {

    static final String USAGE = "usage: ./tally replay --tenant <t> [--rule <id>] --from <2026-12-07T10:00:00Z | PT6H (that long ago)>";

    private final GatewayClient client;
    private final PrintStream out;

    Replay(String gateway, String token, PrintStream out) {
        this.client = new GatewayClient(gateway, token);
        this.out = out;
    }

    /** The instant {@code text} names: an ISO-8601 instant, or a duration meaning that long before {@code now}. */
    static Instant from(String text, Instant now) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            try {
                return now.minus(Duration.parse(text)).truncatedTo(ChronoUnit.SECONDS);
            } catch (DateTimeParseException e2) {
                throw new IllegalArgumentException("--from " + text + " is neither an instant such as 2026-12-07T10:00:00Z nor a duration such as PT6H");
            }
        }
    }

    /** Starts the replay and follows it; 0 when every rule serves its rebuilt version, 1 otherwise. */
    @SuppressWarnings("unchecked")
    int run(String tenant, String rule, Instant from, Duration patience) throws Exception {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("tenant", tenant);
        request.put("from", from.toString());
        if (rule != null) {
            request.put("ruleId", rule);
        }
        String body = JSONObjectUtils.toJSONString(request);
        HttpResponse<String> started = call("POST", "/api/v1/admin/replay", body);
        if (started.statusCode() != 202) {
            out.println("tally replay: the gateway answered " + started.statusCode() + ": " + started.body());
            return 1;
        }
        List<Object> replays = JSONObjectUtils.getJSONArray(JSONObjectUtils.parse(started.body()), "replays");
        if (replays.isEmpty()) {
            out.println("tally replay: tenant " + tenant + " has no rules: nothing to rebuild");
            return 0;
        }
        Map<String, String> status = new LinkedHashMap<>();
        for (Object r : replays) {
            Map<String, Object> replay = (Map<String, Object>) r;
            out.printf("rule %s: version %s rebuilt from %s (%s of the event log)%n", replay.get("ruleId"), replay.get("version"),
                replay.get("from"), replay.get("backfill"));
            status.put((String) replay.get("ruleId"), "backfilling");
        }
        Deadline deadline = Deadline.in(patience);
        while (status.values().stream().anyMatch(s -> !s.equals("active") && !s.equals("failed"))) {
            if (deadline.passed()) {
                out.println("tally replay: not done after " + patience + "; it goes on in the aggregation service (./tally status, its log)");
                return 1;
            }
            Thread.sleep(1_000);
            for (String id : status.keySet()) {
                if (status.get(id).equals("active") || status.get(id).equals("failed")) {
                    continue;
                }
                HttpResponse<String> r = call("GET", "/api/v1/rules/" + id, null);
                if (r.statusCode() != 200) {
                    out.println("rule " + id + ": " + r.statusCode() + " " + r.body());
                    status.put(id, "failed");
                    continue;
                }
                Map<String, Object> shown = JSONObjectUtils.parse(r.body());
                String now = (String) shown.get("status");
                Map<String, Object> progress = (Map<String, Object>) shown.get("backfill");
                if ("backfilling".equals(now) && progress != null) {
                    out.printf("rule %s: backfilling, %s records read, at %s, ~%s s left%n", id, progress.get("eventsRead"),
                        progress.getOrDefault("position", "the start"), progress.getOrDefault("estimatedSecondsLeft", "?"));
                } else if (!now.equals(status.get(id))) {
                    out.printf("rule %s: %s%s%n", id, now, shown.get("reason") == null ? "" : " (" + shown.get("reason") + ")");
                }
                status.put(id, now);
            }
        }
        return status.values().stream().allMatch("active"::equals) ? 0 : 1;
    }

    private HttpResponse<String> call(String method, String path, String body) throws Exception {
        return client.call(method, path, body);
    }
}
