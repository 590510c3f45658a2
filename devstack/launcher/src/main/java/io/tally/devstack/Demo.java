package io.tally.devstack;

import com.nimbusds.jose.util.JSONObjectUtils;
import io.tally.model.TimeSource;

import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code ./tally demo}: demo rules for tenant {@code demo}, a producer of plausible events through
 * the gateway, and a live terminal view fed by one subscription, until Ctrl-C (or {@code --for}).
 */
final class Demo {

    static final String TENANT = "demo";
    private static final String[] TEAMS = {"Lakers", "Celtics", "Warriors", "Bulls", "Heat", "Knicks", "Nuggets", "Suns"};
    private static final double[] TEAM_WEIGHT = {9, 8, 7, 4, 5, 6, 7, 3};
    private static final String[] CATEGORIES = {"sports", "movies", "tickets", "music", "esports"};
    private static final double[] CATEGORY_WEIGHT = {10, 4, 5, 3, 2};
    private static final String[] COUNTRIES = {"US", "GB", "DE", "FR", "JP", "BR", "IN", "CA"};
    private static final double[] COUNTRY_WEIGHT = {10, 5, 4, 3, 4, 3, 5, 2};
    private static final String[] MOVIES = {"Dune: Part Three", "The Batman II", "Frozen III", "Avatar: Fire and Ash", "Toy Story 5"};

    /** The demo rules by name: created once, found again on the next run. */
    static final Map<String, String> RULES = new LinkedHashMap<>();

    static {
        RULES.put("Sports leaderboard by team", """
            {"name":"Sports leaderboard by team","filter":{"categories":["sports"]},"groupBy":["attributes.team"],
             "aggregations":[{"name":"points","op":"sum","field":"value"},{"name":"plays","op":"count"},
                             {"name":"fans","op":"distinct","field":"attributes.user"}],
             "window":{"size":"PT1M"}}""");
        RULES.put("Trending categories", """
            {"name":"Trending categories","groupBy":["category"],
             "aggregations":[{"name":"events","op":"count"},{"name":"perSec","op":"rate"},
                             {"name":"top","op":"topk","field":"attributes.title","k":3}],
             "window":{"size":"PT1M"}}""");
        RULES.put("Ticket drops by country", """
            {"name":"Ticket drops by country","filter":{"categories":["tickets"]},"groupBy":["geo"],
             "aggregations":[{"name":"drops","op":"count"},{"name":"tickets","op":"sum","field":"value"}],
             "window":{"size":"PT1M"}}""");
    }

    private final String gateway;
    private final String token;
    private final PrintStream out;
    private final GatewayClient client;
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong updates = new AtomicLong();
    private final Map<String, Map<String, Object>> latest = new ConcurrentHashMap<>(); // rule name → its newest window
    private volatile String problem;
    private volatile boolean running = true;

    Demo(String gateway, String token, PrintStream out) {
        this.gateway = gateway;
        this.token = token;
        this.client = new GatewayClient(gateway, token);
        this.out = out;
    }

    /** Runs until {@code duration} passes (null: until the process is interrupted by Ctrl-C). */
    void run(Duration duration, boolean terminal) throws Exception {
        Map<String, String> ids = ensureRules();
        out.println("demo rules for tenant '" + TENANT + "': " + ids.keySet());
        out.println("web console (signed in as '" + TENANT + "'; the session is in the link): " + consoleUrl(ids));
        Thread producer = Thread.ofPlatform().name("demo-producer").daemon().start(this::produce);
        Map<String, String> byId = new LinkedHashMap<>();
        ids.forEach((name, id) -> byId.put(id, name));
        WebSocket socket = subscribe(ids, byId);
        CountDownLatch stop = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            running = false;
            stop.countDown();
            socket.abort();
            out.println();
            out.println("Stopped the demo producer after " + sent.get() + " events. The stack keeps running (./tally down stops it).");
            howTo(ids);
        });
        Runtime.getRuntime().addShutdownHook(hook);
        long until = duration == null ? Long.MAX_VALUE : TimeSource.SYSTEM.millis() + duration.toMillis();
        while (running && TimeSource.SYSTEM.millis() < until) {
            render(terminal);
            stop.await(terminal ? 500 : 2000, TimeUnit.MILLISECONDS);
        }
        if (duration != null) {
            Runtime.getRuntime().removeShutdownHook(hook);
            hook.run();
            producer.join(2000);
        }
    }

    private Map<String, String> ensureRules() throws Exception {
        Map<String, String> ids = new LinkedHashMap<>();
        Map<String, Object> page = JSONObjectUtils.parse(call("GET", "/api/v1/rules?pageSize=100", null).body());
        for (Object item : (List<?>) page.get("rules")) {
            Map<?, ?> rule = (Map<?, ?>) item;
            if (RULES.containsKey((String) rule.get("name"))) {
                ids.put((String) rule.get("name"), (String) rule.get("id"));
            }
        }
        for (Map.Entry<String, String> rule : RULES.entrySet()) {
            if (!ids.containsKey(rule.getKey())) {
                HttpResponse<String> created = call("POST", "/api/v1/rules", rule.getValue());
                if (created.statusCode() != 201) {
                    throw new StackException("creating the demo rule '" + rule.getKey() + "' failed: " + created.statusCode() + " " + created.body());
                }
                ids.put(rule.getKey(), (String) JSONObjectUtils.parse(created.body()).get("id"));
            }
        }
        Map<String, String> ordered = new LinkedHashMap<>();
        RULES.keySet().forEach(name -> ordered.put(name, ids.get(name)));
        return ordered;
    }

    private HttpResponse<String> call(String method, String path, String body) throws Exception {
        return client.call(method, path, body);
    }

    /** About 200 events a second in batches, like a feed of plays, releases and ticket drops. */
    private void produce() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (running) {
            StringBuilder batch = new StringBuilder("{\"events\":[");
            int n = 15 + random.nextInt(10);
            String now = TimeSource.SYSTEM.instant().toString();
            for (int i = 0; i < n; i++) {
                String category = pick(CATEGORIES, CATEGORY_WEIGHT, random);
                batch.append(i == 0 ? "" : ",").append("{\"id\":\"").append(UUID.randomUUID()).append("\",\"category\":\"").append(category)
                    .append("\",\"time\":\"").append(now).append("\",\"geo\":\"").append(pick(COUNTRIES, COUNTRY_WEIGHT, random)).append('"');
                switch (category) {
                    case "sports" -> batch.append(",\"type\":\"score\",\"value\":").append(1 + random.nextInt(3))
                        .append(",\"attributes\":{\"team\":\"").append(pick(TEAMS, TEAM_WEIGHT, random)).append("\",\"user\":\"u").append(random.nextInt(500)).append("\"}");
                    case "movies" -> batch.append(",\"type\":\"release\",\"attributes\":{\"title\":\"").append(MOVIES[random.nextInt(MOVIES.length)]).append("\"}");
                    case "tickets" -> batch.append(",\"type\":\"drop\",\"value\":").append(2 + random.nextInt(200));
                    default -> batch.append(",\"type\":\"play\"");
                }
                batch.append('}');
            }
            batch.append("]}");
            try {
                HttpResponse<String> r = call("POST", "/api/v1/events", batch.toString());
                if (r.statusCode() == 202) {
                    sent.addAndGet(n);
                    problem = null;
                } else {
                    problem = "events answered " + r.statusCode() + ": " + r.body();
                }
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                problem = "the gateway did not answer (" + e.getMessage() + "); is the stack up? ./tally status";
            }
        }
    }

    private static String pick(String[] values, double[] weights, ThreadLocalRandom random) {
        double total = 0;
        for (double w : weights) {
            total += w;
        }
        double r = random.nextDouble(total);
        for (int i = 0; i < values.length; i++) {
            r -= weights[i];
            if (r < 0) {
                return values[i];
            }
        }
        return values[values.length - 1];
    }

    private WebSocket subscribe(Map<String, String> ids, Map<String, String> byId) {
        String url = gateway.replaceFirst("^http", "ws") + "/api/v1/subscriptions";
        WebSocket socket = client.http().newWebSocketBuilder().header("Authorization", "Bearer " + token).buildAsync(URI.create(url), new WebSocket.Listener() {
            private final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    take(partial.toString(), byId);
                    partial.setLength(0);
                }
                ws.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
                if (running) {
                    problem = "the subscription closed: " + code + " " + reason;
                }
                return null;
            }
        }).join();
        int n = 0;
        for (String id : ids.values()) {
            socket.sendText("{\"op\":\"subscribe\",\"id\":\"" + (n++) + "\",\"ruleId\":\"" + id + "\"}", true).join();
        }
        return socket;
    }

    @SuppressWarnings("unchecked")
    private void take(String text, Map<String, String> byId) {
        try {
            Map<String, Object> message = JSONObjectUtils.parse(text);
            if ("error".equals(message.get("type"))) {
                problem = "subscription error: " + message.get("detail");
                return;
            }
            updates.incrementAndGet();
            String name = new ArrayList<>(byId.values()).get(Integer.parseInt((String) message.get("id")));
            for (Object w : (List<Object>) message.get("windows")) {
                Map<String, Object> window = (Map<String, Object>) w;
                Map<String, Object> current = latest.get(name);
                if (current == null || ((String) window.get("start")).compareTo((String) current.get("start")) >= 0) {
                    latest.put(name, window);
                }
            }
        } catch (Exception e) {
            problem = "unreadable message: " + e.getMessage();
        }
    }

    @SuppressWarnings("unchecked")
    private void render(boolean terminal) {
        StringBuilder screen = new StringBuilder();
        if (terminal) {
            screen.append("\033[H\033[2J");
        }
        screen.append("Tally live demo · tenant ").append(TENANT).append(" · ").append(sent.get()).append(" events sent · ")
            .append(updates.get()).append(" live messages · Ctrl-C to stop\n\n");
        section(screen, "Sports leaderboard by team", "points", "plays", 8);
        section(screen, "Ticket drops by country", "tickets", "drops", 5);
        section(screen, "Trending categories", "events", "perSec", 5);
        if (problem != null) {
            screen.append("\n! ").append(problem).append('\n');
        }
        out.print(screen);
        out.flush();
    }

    @SuppressWarnings("unchecked")
    private void section(StringBuilder screen, String name, String metric, String second, int rows) {
        Map<String, Object> window = latest.get(name);
        screen.append(name);
        if (window == null) {
            screen.append(" (waiting for the first update)\n\n");
            return;
        }
        screen.append("  [").append(window.get("start")).append(" – ").append(window.get("end")).append(")\n");
        List<Map<String, Object>> groups = new ArrayList<>((List<Map<String, Object>>) window.get("groups"));
        groups.sort(Comparator.comparingDouble((Map<String, Object> g) -> number(((Map<String, Object>) g.get("values")).get(metric))).reversed());
        double max = groups.isEmpty() ? 1 : Math.max(1, number(((Map<String, Object>) groups.getFirst().get("values")).get(metric)));
        for (Map<String, Object> g : groups.subList(0, Math.min(rows, groups.size()))) {
            Map<String, Object> values = (Map<String, Object>) g.get("values");
            String label = String.valueOf(((Map<String, Object>) g.get("group")).values().iterator().next());
            double v = number(values.get(metric));
            screen.append(String.format("  %-10s %-30s %8.0f %-8s %s %s%n", label, "█".repeat((int) Math.round(30 * v / max)), v, metric,
                format(values.get(second)), second));
        }
        screen.append('\n');
    }

    private static double number(Object v) {
        return v instanceof Number n ? n.doubleValue() : 0;
    }

    private static String format(Object v) {
        return v instanceof Double d ? String.format("%.1f", d) : String.valueOf(v);
    }

    /** The console on the leaderboard's live page, with this demo's token in the fragment (never sent to a server). */
    String consoleUrl(Map<String, String> ids) {
        String leaderboard = ids.get("Sports leaderboard by team");
        return gateway + "/console/#token=" + URLEncoder.encode(token, StandardCharsets.UTF_8)
            + (leaderboard == null ? "" : "&go=/rules/" + URLEncoder.encode(leaderboard, StandardCharsets.UTF_8));
    }

    private void howTo(Map<String, String> ids) {
        String leaderboard = ids.get("Sports leaderboard by team");
        out.println();
        out.println("Web console: " + consoleUrl(ids) + "  (API reference: " + gateway + "/reference)");
        out.println("Query or subscribe yourself (token for tenant '" + TENANT + "', roles producer, admin, viewer, valid 12 h):");
        out.println("  export TOKEN=" + token);
        out.println("  curl -H \"Authorization: Bearer $TOKEN\" " + gateway + "/api/v1/rules/" + leaderboard + "/results");
        out.println("  curl -H \"Authorization: Bearer $TOKEN\" '" + gateway + "/api/v1/rules/" + leaderboard + "/top?metric=points&k=3'");
        out.println("  WebSocket: " + gateway.replaceFirst("^http", "ws") + "/api/v1/subscriptions?access_token=$TOKEN");
        out.println("    then send {\"op\":\"subscribe\",\"id\":\"1\",\"ruleId\":\"" + leaderboard + "\"}");
        out.println("  (for example: npx wscat -c \"" + gateway.replaceFirst("^http", "ws") + "/api/v1/subscriptions?access_token="
            + URLEncoder.encode(token, StandardCharsets.UTF_8) + "\")");
    }
}
