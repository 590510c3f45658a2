package io.tally.telemetry;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps a metric label's values bounded: the first {@code max} distinct values (tenants, rules) are labels of their
 * own, every later one is counted under {@value #OTHER}. A fleet with thousands of tenants must not make thousands of
 * time series per meter; the busiest tenants are usually the first seen after a start.
 */
public final class BoundedLabels {

    /** The label of every value past the bound. */
    public static final String OTHER = "_other";

    private final int max;
    private final Set<String> admitted = ConcurrentHashMap.newKeySet();

    public BoundedLabels(int max) {
        if (max < 0) {
            throw new IllegalArgumentException("max must be 0 or more, not " + max);
        }
        this.max = max;
    }

    /** The label for this value: itself while there is room (or it has one already), {@value #OTHER} otherwise. */
    public String of(String value) {
        if (admitted.contains(value)) {
            return value;
        }
        synchronized (admitted) {
            if (admitted.size() < max) {
                admitted.add(value);
                return value;
            }
        }
        return admitted.contains(value) ? value : OTHER;
    }
}
