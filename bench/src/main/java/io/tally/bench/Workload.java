package io.tally.bench;

import io.tally.model.Event;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The benchmark's event stream, deterministic by seed: Zipf-skewed categories plus one very hot
 * one, geographies, users and teams as attributes, a share of duplicate ids (re-sends of a recent
 * event) and event times with bounded disorder. The rule set is a real tenant's: tumbling and
 * hopping windows; count, sum, avg, rate, distinct, topk; one to two group dimensions.
 */
public final class Workload {

    public record Params(long seed, int events, int categories, double zipfExponent, double hotShare, double duplicateShare,
                         long disorderMillis, long spanMillis, int users, int teams) {

        public Map<String, Object> asMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("seed", seed);
            m.put("events", events);
            m.put("categories", categories);
            m.put("zipfExponent", zipfExponent);
            m.put("hotCategoryShare", hotShare);
            m.put("duplicateShare", duplicateShare);
            m.put("disorderMillis", disorderMillis);
            m.put("eventTimeSpanMillis", spanMillis);
            m.put("users", users);
            m.put("teams", teams);
            return m;
        }
    }

    static final String[] GEOS = {"US", "GB", "DE", "FR", "JP", "BR", "IN", "CA", "MX", "KR"};

    /** The rules as they travel on tally.rules (tenant filled in), by id. */
    static Map<String, String> rules(String tenant) {
        Map<String, String> rules = new LinkedHashMap<>();
        rules.put("trending", """
            {"tenant":"%s","id":"trending","version":1,"groupBy":["category"],
             "aggregations":[{"name":"events","op":"count"},{"name":"perSec","op":"rate"}],
             "window":{"size":"PT1M"},"allowedLateness":"PT10S","retention":"PT2H"}""".formatted(tenant));
        rules.put("revenue", """
            {"tenant":"%s","id":"revenue","version":1,"groupBy":["geo"],
             "aggregations":[{"name":"events","op":"count"},{"name":"revenue","op":"sum","field":"value"},{"name":"mean","op":"avg","field":"value"}],
             "window":{"size":"PT5M","slide":"PT1M"},"allowedLateness":"PT10S","retention":"PT2H"}""".formatted(tenant));
        rules.put("fans", """
            {"tenant":"%s","id":"fans","version":1,"groupBy":["category","geo"],
             "aggregations":[{"name":"events","op":"count"},{"name":"users","op":"distinct","field":"attributes.user"}],
             "window":{"size":"PT1M"},"allowedLateness":"PT10S","retention":"PT2H"}""".formatted(tenant));
        rules.put("teams", """
            {"tenant":"%s","id":"teams","version":1,"filter":{"categories":["c0","c1","c2","c3","c4"]},"groupBy":["category"],
             "aggregations":[{"name":"events","op":"count"},{"name":"teams","op":"topk","field":"attributes.team","k":3}],
             "window":{"size":"PT1M"},"allowedLateness":"PT10S","retention":"PT2H"}""".formatted(tenant));
        return rules;
    }

    private Workload() {
    }

    /** The events in the order they are written (duplicates included), all of tenant {@code tenant}. */
    public static List<Event> generate(Params p, String tenant, long startMillis) {
        Random random = new Random(p.seed());
        double[] cumulative = new double[p.categories()];
        double total = 0;
        for (int i = 0; i < p.categories(); i++) {
            total += 1 / Math.pow(i + 1, p.zipfExponent());
            cumulative[i] = total;
        }
        List<Event> events = new ArrayList<>(p.events());
        int unique = 0;
        while (events.size() < p.events()) {
            if (!events.isEmpty() && random.nextDouble() < p.duplicateShare()) {
                events.add(events.get(Math.max(0, events.size() - 1 - random.nextInt(Math.min(100, events.size())))));
                continue;
            }
            String category;
            if (random.nextDouble() < p.hotShare()) {
                category = "hot";
            } else {
                double r = random.nextDouble() * total;
                int lo = 0;
                int hi = p.categories() - 1;
                while (lo < hi) {
                    int mid = (lo + hi) >>> 1;
                    if (cumulative[mid] < r) {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                category = "c" + lo;
            }
            long time = startMillis + (long) ((double) unique * p.spanMillis() / p.events()) - random.nextLong(p.disorderMillis() + 1);
            Map<String, Object> attributes = new HashMap<>();
            attributes.put("user", "u" + random.nextInt(p.users()));
            attributes.put("team", "t" + (int) Math.min(p.teams() - 1, Math.abs(random.nextGaussian()) * p.teams() / 3));
            events.add(new Event(tenant, "e" + unique, category, time, "view", GEOS[Math.min(GEOS.length - 1, (int) Math.abs(random.nextGaussian() * 3))],
                Math.round(random.nextDouble() * 10_000) / 100.0, attributes, null));
            unique++;
        }
        return events;
    }
}
