package io.tally.bench;

import io.tally.model.JsonText;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/** Writes a benchmark run as latest.json, a Markdown table (latest.md) and a chart (latest.png). */
final class Report {

    private Report() {
    }

    static void write(Path dir, Map<String, Object> results) throws IOException {
        Files.writeString(dir.resolve("latest.json"), json(results, "") + "\n");
        Files.writeString(dir.resolve("latest.md"), markdown(results));
        System.setProperty("java.awt.headless", "true");
        ImageIO.write(chart(results), "png", dir.resolve("latest.png").toFile());
    }

    @SuppressWarnings("unchecked")
    static String json(Object value, String indent) {
        if (value instanceof Map<?, ?> map) {
            StringBuilder out = new StringBuilder("{\n");
            int i = 0;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                out.append(indent).append("  ").append(JsonText.quote(String.valueOf(e.getKey()))).append(": ")
                    .append(json(e.getValue(), indent + "  ")).append(++i < map.size() ? ",\n" : "\n");
            }
            return out.append(indent).append('}').toString();
        }
        if (value instanceof Number n) {
            double d = n.doubleValue();
            return Double.isNaN(d) || Double.isInfinite(d) ? "null" : (d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d));
        }
        if (value instanceof Boolean || value == null) {
            return String.valueOf(value);
        }
        return JsonText.quote(String.valueOf(value));
    }

    private static Object get(Map<String, Object> r, String key) {
        Object v = r.getOrDefault(key, "—");
        return v instanceof Long || v instanceof Integer ? String.format("%,d", ((Number) v).longValue()) : v;
    }

    @SuppressWarnings("unchecked")
    static String markdown(Map<String, Object> r) {
        Map<String, Object> machine = (Map<String, Object>) r.get("machine");
        Map<String, Object> workload = (Map<String, Object>) r.get("workload");
        return """
            # Tally benchmark (%s run, %s)

            Machine: %s cores, %s GiB, %s. Workload: %,d events (seed %s; %s categories, Zipf %s, hot share %s,
            duplicates %s, disorder ≤ %s ms), four rules (tumbling and hopping windows; count, sum, avg, rate,
            distinct, topk; one or two group dimensions), one broker.

            | measure | result | aim |
            |---|---|---|
            | raw consume (plain consumer, the ceiling) | %s events/s | |
            | Tally, 1 aggregation instance (results exact: %s) | %s events/s | |
            | Kafka Streams, exactly_once_v2, 2 threads (exact: %s) | %s events/s | |
            | Tally ÷ Kafka Streams | %s × | ≥ 2 × |
            | Tally ÷ raw consume | %s | ≥ 0.5 |
            | freshness, 202 → visible in a query (p50 / p99) | %s / %s ms | p99 ≤ 200 ms |
            | query latency through the gateway, %s readers (p50 / p99) | %s / %s ms, %s requests/s | p99 ≤ 100 ms |
            | push latency 202 → socket, %s subscriptions (p50 / p99) | %s / %s ms | |

            Where Tally's aggregation time went (seconds per flush phase, summed): %s
            """.formatted(r.get("mode"), String.valueOf(r.get("date")).substring(0, 19) + "Z", machine.get("cores"), machine.get("memoryGiB"), machine.get("jdk"),
            ((Number) workload.get("events")).longValue(), workload.get("seed"), workload.get("categories"), workload.get("zipfExponent"),
            workload.get("hotCategoryShare"), workload.get("duplicateShare"), workload.get("disorderMillis"),
            get(r, "rawConsume.eventsPerSec"), get(r, "tally.exact"), get(r, "tally.eventsPerSec"), get(r, "kafkaStreams.exact"),
            get(r, "kafkaStreams.eventsPerSec"), get(r, "ratioVsKafkaStreams"), get(r, "fractionOfRawConsume"),
            get(r, "tally.freshnessP50Ms"), get(r, "tally.freshnessP99Ms"), get(r, "query.concurrency"), get(r, "query.p50Ms"),
            get(r, "query.p99Ms"), get(r, "query.requestsPerSec"), get(r, "push.subscriptions"), get(r, "push.p50Ms"), get(r, "push.p99Ms"), r.getOrDefault("tally.flushSecondsByPhase", "—"))
            + scaleOut(r);
    }

    /** The scale-out phase's table: one row per number of aggregation instances. */
    @SuppressWarnings("unchecked")
    private static String scaleOut(Map<String, Object> r) {
        if (!(r.get("scaleOut.runs") instanceof List<?> runs)) {
            return "";
        }
        StringBuilder out = new StringBuilder("""

            ## Scale-out: %s, %s records (%s unique)

            | aggregation instances | events/s | exact | freshness p50 / p99 at %s events/s | aggregation CPU-s per million events | Redis CPU-s per million events | per master: script share, CPU %% |
            |---|---|---|---|---|---|---|
            """.formatted(r.get("scaleOut.rule"), get(r, "scaleOut.events"), get(r, "scaleOut.uniqueEvents"), ScaleOutPhase.CAUGHT_UP_LOAD));
        for (Object o : runs) {
            Map<String, Object> run = (Map<String, Object>) o;
            StringBuilder masters = new StringBuilder();
            for (Object m : (List<Object>) run.get("masters")) {
                Map<String, Object> master = (Map<String, Object>) m;
                masters.append(masters.isEmpty() ? "" : "; ").append(':').append(master.get("master")).append(' ')
                    .append(Math.round(100 * ((Number) master.get("scriptShare")).doubleValue())).append(" %, ").append(master.get("cpuPercent")).append(" %");
            }
            out.append("| ").append(run.get("instances")).append(" | ").append(get(run, "eventsPerSec")).append(" | ").append(run.get("exact"))
                .append(" | ").append(run.get("freshnessP50Ms")).append(" / ").append(run.get("freshnessP99Ms")).append(" ms | ")
                .append(run.get("aggregationCpuSecondsPerMillionEvents")).append(" | ").append(run.get("redisCpuSecondsPerMillionEvents"))
                .append(" | ").append(masters).append(" |\n");
        }
        return out.toString();
    }

    static BufferedImage chart(Map<String, Object> r) {
        int width = 900;
        int height = 420;
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.DARK_GRAY);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.drawString("Tally benchmark · " + r.get("mode") + " run · " + String.valueOf(r.get("date")).substring(0, 19) + "Z", 20, 28);
        bars(g, 20, 60, 420, 320, "throughput (events/s)", List.of(
            new Bar("raw consume", number(r.get("rawConsume.eventsPerSec")), new Color(150, 150, 150)),
            new Bar("Tally", number(r.get("tally.eventsPerSec")), new Color(33, 115, 200)),
            new Bar("Kafka Streams", number(r.get("kafkaStreams.eventsPerSec")), new Color(220, 120, 40))));
        bars(g, 470, 60, 410, 320, "latency (ms)", List.of(
            new Bar("fresh p50", number(r.get("tally.freshnessP50Ms")), new Color(90, 160, 230)),
            new Bar("fresh p99", number(r.get("tally.freshnessP99Ms")), new Color(33, 115, 200)),
            new Bar("query p50", number(r.get("query.p50Ms")), new Color(120, 200, 120)),
            new Bar("query p99", number(r.get("query.p99Ms")), new Color(40, 150, 60))));
        g.dispose();
        return image;
    }

    private record Bar(String label, double value, Color color) {
    }

    private static double number(Object v) {
        return v instanceof Number n ? n.doubleValue() : 0;
    }

    private static void bars(Graphics2D g, int x, int y, int w, int h, String title, List<Bar> bars) {
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        g.setColor(Color.DARK_GRAY);
        g.drawString(title, x, y);
        double max = bars.stream().mapToDouble(Bar::value).max().orElse(1);
        int base = y + h - 30;
        int slot = w / bars.size();
        for (int i = 0; i < bars.size(); i++) {
            Bar bar = bars.get(i);
            int barHeight = max <= 0 ? 0 : (int) Math.round((h - 70) * bar.value() / max);
            int bx = x + i * slot + slot / 6;
            g.setColor(bar.color());
            g.fillRect(bx, base - barHeight, slot * 2 / 3, barHeight);
            g.setColor(Color.DARK_GRAY);
            g.drawString(bar.value() >= 100 ? String.format("%,.0f", bar.value()) : String.format("%.1f", bar.value()), bx, base - barHeight - 6);
            g.drawString(bar.label(), bx, base + 18);
        }
        g.setStroke(new BasicStroke(1));
        g.drawLine(x, base, x + w - 10, base);
    }
}
