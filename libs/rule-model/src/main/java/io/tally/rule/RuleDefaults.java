package io.tally.rule;

import java.time.Duration;

/** What a rule means when it leaves something out (API.md, "Rules"). */
public final class RuleDefaults {

    private RuleDefaults() {
    }

    /** {@code allowedLateness}: how long after a window's end its events still count. */
    public static final Duration LATENESS = Duration.ofSeconds(5);
    /** {@code retention}: how long a window's values stay queryable after it ends. */
    public static final Duration RETENTION = Duration.ofHours(24);
    /** {@code k} of a {@code topk}. */
    public static final int TOPK_K = 10;
    /** {@code shards}: over how many Redis hash slots a rule's groups are spread. */
    public static final int SHARDS = 1;
    /** The most {@code shards} a rule may have: every read of the rule asks each of them. */
    public static final int MAX_SHARDS = 16;

    /** An ISO-8601 duration, or {@code otherwise} when none is given. */
    public static Duration duration(String iso, Duration otherwise) {
        return iso == null ? otherwise : Duration.parse(iso);
    }
}
