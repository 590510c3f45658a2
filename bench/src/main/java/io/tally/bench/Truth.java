package io.tally.bench;

import io.tally.model.Event;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** Per-window ground truth of the rules that are checked exactly. */
final class Truth {
    long unique;
    final Map<Long, Map<String, Long>> trending = new TreeMap<>();
    final Map<Long, Map<String, double[]>> revenue = new TreeMap<>(); // window → geo → {count, sum}

    static Truth of(List<Event> events) {
        Truth t = new Truth();
        Set<String> seen = new HashSet<>();
        for (Event e : events) {
            if (!seen.add(e.id())) {
                continue;
            }
            t.unique++;
            long w = Math.floorDiv(e.timeMillis(), 60_000L) * 60_000L;
            t.trending.computeIfAbsent(w, x -> new HashMap<>()).merge(e.category(), 1L, Long::sum);
            for (long s = w - 4 * 60_000L; s <= w; s += 60_000L) {
                double[] cs = t.revenue.computeIfAbsent(s, x -> new HashMap<>()).computeIfAbsent(e.geo(), g -> new double[2]);
                cs[0]++;
                cs[1] += e.value();
            }
        }
        return t;
    }
}
