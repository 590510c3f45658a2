package io.tally.results;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisAdvancedClusterAsyncCommands;
import io.tally.model.StateKeys;
import io.tally.rule.Op;
import io.tally.rule.RuleSpec;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * One rule's stored windows read in one atomic script together with the rule's update sequence
 * ({@code seq}): every applied batch is one script on the rule's slot that increments it, so the
 * values read are exactly those of the first {@code seq} batches. Two reads of a rule are ordered by
 * their sequences; two with the same sequence read the same values. {@code closedUpTo}: a window whose end
 * plus the allowed lateness is at or before it is final and never written again (null: none closed yet);
 * {@code watermark} the tenant's finality watermark it was closed by (null: not yet).
 */
public record RuleState(long seq, long lateEvents, Long closedUpTo, Long watermark, List<RawWindow> windows) {

    private static final LuaScript READ = LuaScript.load(RuleState.class, "/lua/read-rule.lua");

    /**
     * Reads the windows starting at {@code starts} (those without data are left out) of the rule's first shard in one
     * script, unbounded (tests).
     */
    public static CompletableFuture<RuleState> read(RedisAdvancedClusterAsyncCommands<String, String> redis, RuleSpec rule,
                                                    List<Long> starts) {
        return read(redis, rule, StateKeys.ruleTag(rule.tenant(), rule.stateId()), starts, Budget.NONE);
    }

    /**
     * How much one read may take: a script stops after the window at which it has read {@code perScript} values (the
     * rest is read by further scripts, so no script holds a Redis master for long), and a read that has read more than
     * {@code perRead} values fails with {@link ReadTooLarge} (what one answer may hold in memory). 0: no bound.
     */
    public record Budget(long perScript, long perRead) {
        public static final Budget NONE = new Budget(0, 0);
    }

    /** A read that would hold more values than its {@link Budget} allows. */
    public static final class ReadTooLarge extends RuntimeException {
        private final long values;
        private final int windowsRead;
        private final int windows;

        ReadTooLarge(long values, int windowsRead, int windows, long limit) {
            super("the read holds more than " + limit + " values (" + values + " in its first " + windowsRead + " of " + windows + " windows)");
            this.values = values;
            this.windowsRead = windowsRead;
            this.windows = windows;
        }

        public long values() {
            return values;
        }

        public int windowsRead() {
            return windowsRead;
        }

        public int windows() {
            return windows;
        }
    }

    /**
     * Reads the windows starting at {@code starts} of the rule shard whose keys carry {@code tag} within {@code budget}.
     * When one script cannot read them all, the
     * parts are read by successive scripts, each atomic with the sequence it read at, and the state is the one of the
     * lowest sequence: every value read is at least what that sequence holds and never more than a later read shows,
     * so readers stay monotonic; the late count, finality mark and watermark are that part's.
     */
    public static CompletableFuture<RuleState> read(RedisAdvancedClusterAsyncCommands<String, String> redis, RuleSpec rule,
                                                    String tag, List<Long> starts, Budget budget) {
        return readFrom(redis, rule, tag, starts, 0, budget, new Parts(starts.size()));
    }

    /** What the scripts of one read returned so far. */
    private static final class Parts {
        final List<RawWindow> windows = new ArrayList<>();
        final int total;
        RuleState lowest;
        long values;

        Parts(int total) {
            this.total = total;
        }
    }

    private static CompletableFuture<RuleState> readFrom(RedisAdvancedClusterAsyncCommands<String, String> redis, RuleSpec rule,
                                                         String tag, List<Long> all, int from, Budget budget, Parts parts) {
        List<Long> starts = all.subList(from, all.size());
        String[] keys = new String[starts.size() + 1];
        keys[0] = StateKeys.meta(tag);
        List<String> args = new ArrayList<>();
        args.add(StateKeys.distinctPrefix(tag, rule.keyVersion()));
        args.add(Integer.toString(starts.size()));
        args.add(Long.toString(budget.perScript()));
        for (int i = 0; i < starts.size(); i++) {
            keys[i + 1] = StateKeys.window(tag, rule.keyVersion(), starts.get(i));
            args.add(Long.toString(starts.get(i)));
        }
        List<String> distinct = rule.ops().stream().filter(o -> o.kind() == Op.DISTINCT).map(RuleSpec.Aggregation::name).toList();
        args.add(Integer.toString(distinct.size()));
        args.addAll(distinct);
        rule.ops().stream().filter(o -> o.kind() == Op.TOPK).forEach(o -> args.add(o.name()));
        CompletableFuture<List<Object>> reply = READ.run(redis, ScriptOutputType.MULTI, keys, args.toArray(String[]::new));
        return reply.thenCompose(r -> {
            int read = ((Number) r.get(4)).intValue();
            RuleState part = parse(r, starts.subList(0, read));
            parts.windows.addAll(part.windows());
            parts.values += values(r, read);
            if (parts.lowest == null || part.seq() < parts.lowest.seq()) {
                parts.lowest = part;
            }
            int next = from + read;
            if (budget.perRead() > 0 && parts.values > budget.perRead() && next < all.size()) {
                return CompletableFuture.failedFuture(new ReadTooLarge(parts.values, next, all.size(), budget.perRead()));
            }
            if (next < all.size() && read > 0) {
                return readFrom(redis, rule, tag, all, next, budget, parts);
            }
            RuleState lowest = parts.lowest;
            return CompletableFuture.completedFuture(new RuleState(lowest.seq(), lowest.lateEvents(), lowest.closedUpTo(), lowest.watermark(),
                List.copyOf(parts.windows)));
        });
    }

    @SuppressWarnings("unchecked")
    private static long values(List<Object> reply, int windows) {
        long values = 0;
        for (int w = 0; w < windows; w++) {
            values += ((List<Object>) reply.get(5 + 2 * w)).size() + ((List<Object>) reply.get(6 + 2 * w)).size();
        }
        return values / 2;
    }

    @SuppressWarnings("unchecked")
    static RuleState parse(List<Object> reply, List<Long> starts) {
        long seq = ((Number) reply.get(0)).longValue();
        long late = ((Number) reply.get(1)).longValue();
        String closed = (String) reply.get(2);
        String watermark = (String) reply.get(3);
        List<RawWindow> windows = new ArrayList<>();
        for (int w = 0; w < starts.size(); w++) {
            List<Object> fields = (List<Object>) reply.get(5 + 2 * w);
            if (fields.isEmpty()) {
                continue;
            }
            List<Object> counts = (List<Object>) reply.get(6 + 2 * w);
            Map<String, String> hash = new HashMap<>(fields.size());
            for (int i = 0; i + 1 < fields.size(); i += 2) {
                hash.put((String) fields.get(i), (String) fields.get(i + 1));
            }
            Map<String, Long> distinct = new HashMap<>(counts.size());
            for (int i = 0; i + 1 < counts.size(); i += 2) {
                distinct.put((String) counts.get(i), ((Number) counts.get(i + 1)).longValue());
            }
            windows.add(new RawWindow(starts.get(w), hash, distinct));
        }
        return new RuleState(seq, late, number(closed), number(watermark), windows);
    }

    private static Long number(String text) {
        return text == null || text.isEmpty() ? null : Long.valueOf(text);
    }
}
