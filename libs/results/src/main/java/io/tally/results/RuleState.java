package io.tally.results;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisAdvancedClusterAsyncCommands;
import io.tally.model.StateKeys;

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

    /** Reads the windows starting at {@code starts} (those without data are left out). */
    public static CompletableFuture<RuleState> read(RedisAdvancedClusterAsyncCommands<String, String> redis, RuleView rule,
                                                    List<Long> starts) {
        String[] keys = new String[starts.size() + 1];
        keys[0] = StateKeys.meta(rule.tenant(), rule.id());
        List<String> args = new ArrayList<>();
        args.add(StateKeys.distinctPrefix(rule.tenant(), rule.id(), rule.version()));
        args.add(Integer.toString(starts.size()));
        for (int i = 0; i < starts.size(); i++) {
            keys[i + 1] = StateKeys.window(rule.tenant(), rule.id(), rule.version(), starts.get(i));
            args.add(Long.toString(starts.get(i)));
        }
        List<String> distinct = rule.ops().stream().filter(o -> o.kind().equals("distinct")).map(RuleView.Op::name).toList();
        args.add(Integer.toString(distinct.size()));
        args.addAll(distinct);
        rule.ops().stream().filter(o -> o.kind().equals("topk")).forEach(o -> args.add(o.name()));
        CompletableFuture<List<Object>> reply = READ.run(redis, ScriptOutputType.MULTI, keys, args.toArray(String[]::new));
        return reply.thenApply(r -> parse(r, starts));
    }

    @SuppressWarnings("unchecked")
    static RuleState parse(List<Object> reply, List<Long> starts) {
        long seq = ((Number) reply.get(0)).longValue();
        long late = ((Number) reply.get(1)).longValue();
        String closed = (String) reply.get(2);
        String watermark = (String) reply.get(3);
        List<RawWindow> windows = new ArrayList<>();
        for (int w = 0; w < starts.size(); w++) {
            List<Object> fields = (List<Object>) reply.get(4 + 2 * w);
            if (fields.isEmpty()) {
                continue;
            }
            List<Object> counts = (List<Object>) reply.get(5 + 2 * w);
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
