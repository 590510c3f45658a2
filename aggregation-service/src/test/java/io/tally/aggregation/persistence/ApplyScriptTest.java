package io.tally.aggregation.persistence;

import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import io.tally.fold.ApplyOutcome;
import io.tally.fold.CompiledRule;
import io.tally.fold.DedupIndex;
import io.tally.fold.IdLookup;
import io.tally.fold.PartitionFold;
import io.tally.fold.PartitionState;
import io.tally.fold.RuleDelta;
import io.tally.model.Event;
import io.tally.model.RuleRecord;
import io.tally.model.StateKeys;
import io.tally.redis.ClusterFailoverOptions;
import io.tally.redis.RedisClientSettings;
import io.tally.results.RawWindow;
import io.tally.results.ResultAssembler;
import io.tally.results.RuleShards;
import io.tally.results.RuleState;
import io.tally.results.StateReader;
import io.tally.rule.RuleSpec;
import io.tally.testinfra.TestStack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The writer's encoding of a folded batch against the Lua script that applies it, on the real Redis Cluster. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApplyScriptTest {

    /**
     * The start of the hour before this one: the scripts give keys absolute expiries (a window's end plus its
     * retention), so a fixed date would have every key expire at once once it lies more than a day back.
     */
    private static final long T0 = (System.currentTimeMillis() / 3_600_000 - 1) * 3_600_000;
    private static final String SEP = String.valueOf(StateKeys.SEP);
    /** The group key of geo US as stored: the JSON array of the rule's dimension values. */
    private static final String GROUP = "[\"US\"]";

    private RedisClusterClient client;
    private FencedRedisWriter writer;
    private StatefulRedisClusterConnection<String, String> connection;
    private RedisAdvancedClusterCommands<String, String> redis;
    private final String tenant = "script-" + UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    void connect() {
        client = RedisClusterClient.create(List.of(TestStack.infrastructure().redisUris().split(",")).stream().map(RedisURI::create).toList());
        client.setOptions(ClusterFailoverOptions.of(new RedisClientSettings(Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(5))));
        writer = new FencedRedisWriter(() -> client);
        connection = client.connect();
        redis = connection.sync();
    }

    @AfterAll
    void close() {
        writer.close();
        connection.close();
        client.shutdown();
    }

    private CompiledRule rule(String id) {
        return CompiledRule.compile(new RuleRecord(tenant, id, 1, id, null, List.of("geo"), List.of(
            new RuleRecord.Aggregation("n", "count", null, null),
            new RuleRecord.Aggregation("s", "sum", "value", null),
            new RuleRecord.Aggregation("lo", "min", "value", null),
            new RuleRecord.Aggregation("hi", "max", "value", null),
            new RuleRecord.Aggregation("a", "avg", "value", null),
            new RuleRecord.Aggregation("d", "distinct", "attributes.user", null),
            new RuleRecord.Aggregation("t", "topk", "attributes.team", 3)), new RuleRecord.Window("PT1M", null), "PT5S", "PT24H"));
    }

    private Event event(String id, double value, String user, String team) {
        return new Event(tenant, id, "c", T0 + 1_000, null, "US", value, Map.of("user", user, "team", team), null);
    }

    /** Folds the events as one batch of partition 3 starting at {@code firstOffset} and applies it. */
    private ApplyOutcome apply(CompiledRule rule, PartitionState state, long firstOffset, Event... events) {
        PartitionFold fold = new PartitionFold(3, state, T0 + 60_000);
        for (int i = 0; i < events.length; i++) {
            fold.add(firstOffset + i, events[i], DedupIndex.NONE, t -> List.of(rule));
        }
        var outcome = writer.apply(List.of(fold), Map.of(3, state)).get(3).get(tenant + ":" + rule.id());
        if (outcome.applied()) {
            state.setFence(rule, fold.lastOffset());
        }
        return outcome;
    }

    private Map<String, String> window(CompiledRule rule) {
        return redis.hgetall(StateKeys.window(tenant, rule.id(), 1, T0));
    }

    /** Reads stored windows as the query and subscription services do: group keys are JSON arrays. */
    private static final ResultAssembler ASSEMBLER = new ResultAssembler(json -> {
        try {
            return io.micronaut.serde.ObjectMapper.getDefault().readValue(json, io.micronaut.core.type.Argument.listOf(Object.class));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }, json -> json);

    /** The values of group US in the rule's window at T0, as the results API shows them. */
    private Map<String, Object> valuesOfUs(CompiledRule rule) {
        RuleSpec spec = RuleSpec.of(rule.record());
        RawWindow window = RuleState.read(connection.async(), spec, List.of(T0)).join().windows().getFirst();
        return ASSEMBLER.groups(spec, window, Map.of("geo", "US")).getFirst().values();
    }

    @Test
    void everyOpcodeLandsWhereTheReadersLookForIt() {
        CompiledRule rule = rule("ops");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        ApplyOutcome outcome = apply(rule, state, 10, event("a", 2.5, "u1", "lakers"), event("b", -1, "u2", "lakers"),
            event("c", 4, "u1", "celtics"));
        assertEquals(new ApplyOutcome(1, 1), outcome);
        Map<String, String> w = window(rule);
        String g = GROUP + SEP;
        assertEquals("3", w.get(g));
        assertNull(w.get(g + "n"), "a count is the group's event count, not written apart");
        assertEquals(5.5, Double.parseDouble(w.get(g + "s")));
        assertEquals(-1.0, Double.parseDouble(w.get(g + "lo")));
        assertEquals(4.0, Double.parseDouble(w.get(g + "hi")));
        assertNull(w.get(g + "a" + SEP + "s"), "an average's sum is the sum's of its field, not written apart");
        assertEquals("3", w.get(g + "a" + SEP + "n"));
        Map<String, Object> values = valuesOfUs(rule);
        assertEquals(3L, values.get("n"));
        assertEquals(5.5, values.get("s"));
        assertEquals(5.5 / 3, values.get("a"));
        String top = StateKeys.topk(tenant, rule.id(), 1, T0, GROUP, "t");
        assertEquals(2.0, redis.zscore(top, "\"lakers\""));
        assertEquals(1.0, redis.zscore(top, "\"celtics\""));
        assertTrue(redis.pttl(top) > 0, "the topk sketch expires with its window");
        String distinct = StateKeys.distinct(tenant, rule.id(), 1, T0, GROUP, "d");
        assertEquals(2L, redis.pfcount(distinct));
        assertTrue(redis.pttl(distinct) > 0, "the distinct sketch expires with its window");
        assertEquals("12", redis.hget(StateKeys.fence(tenant, rule.id()), "3"));
        long ttl = redis.pttl(StateKeys.meta(tenant, rule.id()));
        assertTrue(ttl > Duration.ofDays(1).toMillis() && ttl <= rule.metaTtlMillis(), "meta ttl " + ttl);
        // A later batch writes the sketches that exist already: they keep their window's expiry (set once, when created).
        long left = redis.pttl(distinct);
        assertEquals(new ApplyOutcome(1, 2), apply(rule, state, 20, event("d", 1, "u3", "knicks")));
        assertEquals(3L, redis.pfcount(distinct));
        assertEquals(1.0, redis.zscore(top, "\"knicks\""));
        assertTrue(redis.pttl(distinct) > 0 && redis.pttl(distinct) <= left, "the distinct sketch keeps its expiry");
        assertTrue(redis.pttl(top) > 0 && redis.pttl(top) <= left, "the topk sketch keeps its expiry");
    }

    @Test
    void aReplayedBatchChangesNothing() {
        CompiledRule rule = rule("replay");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        apply(rule, state, 10, event("a", 1, "u1", "x"));
        PartitionState restarted = new PartitionState();
        restarted.setFence(rule, -1);
        assertEquals(new ApplyOutcome(0, 1), apply(rule, restarted, 10, event("a", 1, "u1", "x")));
        assertEquals("1", window(rule).get(GROUP + SEP));
    }

    @Test
    void withOwnFieldsEveryAggregationKeepsItsFieldAsVersionsBeforeDidAndReadsTheSame() {
        CompiledRule rule = rule("own");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        FencedRedisWriter own = new FencedRedisWriter(() -> client, io.tally.model.TenantQuotas.parse(new io.tally.model.TenantQuotas.Quota(100, 10_000, 1440), ""),
            new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), io.tally.model.TimeSource.SYSTEM, true);
        try {
            PartitionFold fold = new PartitionFold(3, state, T0 + 60_000);
            Event[] events = {event("a", 2.5, "u1", "x"), event("b", -1, "u2", "x"), event("c", 4, "u1", "y")};
            for (int i = 0; i < events.length; i++) {
                fold.add(10 + i, events[i], DedupIndex.NONE, t -> List.of(rule));
            }
            assertTrue(own.apply(List.of(fold), Map.of(3, state)).get(3).get(rule.key()).applied());
        } finally {
            own.close();
        }
        Map<String, String> w = window(rule);
        String g = GROUP + SEP;
        assertEquals("3", w.get(g + "n"));
        assertEquals(5.5, Double.parseDouble(w.get(g + "a" + SEP + "s")));
        Map<String, Object> values = valuesOfUs(rule);
        assertEquals(3L, values.get("n"));
        assertEquals(5.5 / 3, values.get("a"));

        // A window written partly by such a version and partly after: the shared fields hold all of it, and are read.
        state.setFence(rule, 12);
        apply(rule, state, 13, event("d", 10, "u3", "y"));
        assertEquals("3", window(rule).get(g + "n"), "the own field stopped at the upgrade");
        values = valuesOfUs(rule);
        assertEquals(4L, values.get("n"));
        assertEquals(15.5, values.get("s"));
        assertEquals(15.5 / 4, values.get("a"));
    }

    private Event eventIn(String geo, String id, double value, String user, String team) {
        return new Event(tenant, id, "c", T0 + 1_000, null, geo, value, Map.of("user", user, "team", team), null);
    }

    /** Folds each partition's events (offsets from 100) as one batch with the given fences; partition → fold. */
    private Map<Integer, PartitionFold> foldPartitions(CompiledRule rule, Map<Integer, PartitionState> states, Map<Integer, List<Event>> events) {
        Map<Integer, PartitionFold> folds = new java.util.LinkedHashMap<>();
        events.forEach((partition, list) -> {
            PartitionFold fold = new PartitionFold(partition, states.get(partition), T0 + 60_000);
            for (int i = 0; i < list.size(); i++) {
                fold.add(100 + i, list.get(i), DedupIndex.NONE, t -> List.of(rule));
            }
            folds.put(partition, fold);
        });
        return folds;
    }

    @Test
    void aBatchOfSeveralPartitionsIsAppliedByOneScriptThatWritesEachGroupOnceAndMovesEveryFence() {
        CompiledRule rule = rule("combined");
        Map<Integer, PartitionState> states = Map.of(3, new PartitionState(), 5, new PartitionState(), 8, new PartitionState());
        states.values().forEach(st -> st.setFence(rule, -1));
        Map<Integer, List<Event>> events = Map.of(
            3, List.of(eventIn("US", "a", 1, "u1", "x"), eventIn("DE", "b", 10, "u2", "x")),
            5, List.of(eventIn("US", "c", 2, "u3", "y"), eventIn("US", "d", -4, "u1", "x")),
            8, List.of(eventIn("FR", "e", 7, "u4", "z")));
        Map<Integer, PartitionFold> folds = foldPartitions(rule, states, events);
        var outcomes = writer.apply(List.copyOf(folds.values()), states);
        for (int partition : List.of(3, 5, 8)) {
            assertEquals(new ApplyOutcome(1, 1), outcomes.get(partition).get(rule.key()), "one script for all three partitions: sequence 1 on " + partition);
            assertEquals(Long.toString(99 + events.get(partition).size()), redis.hget(StateKeys.fence(tenant, rule.id()), Integer.toString(partition)));
        }
        Map<String, Object> us = valuesOfUs(rule);
        assertEquals(3L, us.get("n"));
        assertEquals(-1.0, us.get("s"));
        assertEquals(-4.0, us.get("lo"));
        assertEquals(2.0, us.get("hi"));
        assertEquals(-1.0 / 3, us.get("a"));
        assertEquals(2L, us.get("d"), "u1 on two partitions is one distinct value");
        assertEquals(List.of(Map.of("value", "\"x\"", "count", 2L), Map.of("value", "\"y\"", "count", 1L)), us.get("t"), "values as JSON");
        assertEquals("3", window(rule).get(SEP + "g"), "US, DE and FR");

        // The same batch read again after a crash (the fences as the engine had them): nothing is written twice.
        Map<Integer, PartitionState> again = Map.of(3, new PartitionState(), 5, new PartitionState(), 8, new PartitionState());
        again.values().forEach(st -> st.setFence(rule, -1));
        var replayed = writer.apply(List.copyOf(foldPartitions(rule, again, events).values()), again);
        replayed.values().forEach(byRule -> assertEquals(new ApplyOutcome(0, 1), byRule.get(rule.key())));
        assertEquals(3L, valuesOfUs(rule).get("n"));
    }

    @Test
    void aCombinedBatchWhosePartitionsAreNotAllWhereTheWriterExpectsIsRefusedWhole() {
        CompiledRule rule = rule("partly");
        Map<Integer, PartitionState> states = Map.of(3, new PartitionState(), 5, new PartitionState());
        states.values().forEach(st -> st.setFence(rule, -1));
        // Partition 5 was applied further by someone else; partition 3 is where the writer expects it.
        redis.hset(StateKeys.fence(tenant, rule.id()), "5", "100");
        Map<Integer, List<Event>> events = Map.of(3, List.of(eventIn("US", "a", 1, "u1", "x")),
            5, List.of(eventIn("US", "b", 2, "u2", "x"), eventIn("US", "c", 3, "u3", "x")));
        var outcomes = writer.apply(List.copyOf(foldPartitions(rule, states, events).values()), states);
        assertTrue(outcomes.get(3).get(rule.key()).fenceMoved());
        assertTrue(outcomes.get(5).get(rule.key()).fenceMoved());
        assertEquals(Map.of(), window(rule), "nothing written");
        assertEquals(null, redis.hget(StateKeys.fence(tenant, rule.id()), "3"));

        // Read and folded again with the fences Redis holds: partition 5's first event is a replay, the rest applies.
        states.get(5).setFence(rule, 100);
        var again = writer.apply(List.copyOf(foldPartitions(rule, states, events).values()), states);
        assertTrue(again.get(3).get(rule.key()).applied());
        assertTrue(again.get(5).get(rule.key()).applied());
        assertEquals(2L, valuesOfUs(rule).get("n"), "a (partition 3) and c (partition 5, offset 101)");
    }

    @Test
    void aCombinedScriptThatFailsOnTheRulesDataIsNotCombinedAgainSoEachPartitionIsJudgedOnItsOwn() {
        CompiledRule rule = rule("judged");
        FencedRedisWriter own = writerWithGroupQuota(100);
        try {
            Map<Integer, PartitionState> states = Map.of(3, new PartitionState(), 5, new PartitionState());
            states.values().forEach(st -> st.setFence(rule, -1));
            // Partition 3's only group has a broken distinct sketch; partition 5's group does not.
            redis.set(StateKeys.distinct(tenant, rule.id(), 1, T0, GROUP, "d"), "not a hyperloglog");
            Map<Integer, List<Event>> events = Map.of(3, List.of(eventIn("US", "a", 1, "u1", "x")), 5, List.of(eventIn("DE", "b", 2, "u2", "x")));
            var first = own.apply(List.copyOf(foldPartitions(rule, states, events).values()), states);
            assertTrue(first.get(3).get(rule.key()).poisoned());
            assertTrue(first.get(5).get(rule.key()).poisoned(), "combined, partition 5 failed with 3");
            var retried = own.apply(List.copyOf(foldPartitions(rule, states, events).values()), states);
            assertTrue(retried.get(3).get(rule.key()).poisoned());
            assertTrue(retried.get(5).get(rule.key()).applied());
            assertEquals("100", redis.hget(StateKeys.fence(tenant, rule.id()), "5"), "partition 5 applied on its own");
            assertEquals(null, redis.hget(StateKeys.fence(tenant, rule.id()), "3"));
        } finally {
            own.close();
        }
    }

    @Test
    void aSumThatWouldOverflowSaturatesAndTheRestOfTheBatchStillApplies() {
        CompiledRule rule = rule("poison");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        apply(rule, state, 10, event("a", 1.5e308, "u1", "x"));
        ApplyOutcome second = apply(rule, state, 11, event("b", 1.5e308, "u2", "y"));
        assertEquals(new ApplyOutcome(1, 2), second, "the batch applied instead of failing half-way");
        Map<String, String> w = window(rule);
        String g = GROUP + SEP;
        assertEquals(Double.MAX_VALUE, Double.parseDouble(w.get(g + "s")));
        assertEquals(Double.MAX_VALUE / 2, valuesOfUs(rule).get("a"), "the average of two saturated values");
        assertEquals("2", w.get(g), "ops after the saturated sum were applied");
        assertEquals(1.0, redis.zscore(StateKeys.topk(tenant, rule.id(), 1, T0, GROUP, "t"), "\"y\""));
        assertEquals("11", redis.hget(StateKeys.fence(tenant, rule.id()), "3"));
    }

    @Test
    void closingARuleMovesItsMarkOnceAndIncrementsItsSequence() {
        CompiledRule rule = rule("close");
        assertEquals(new FencedRedisWriter.Closing(-1, 1), writer.close(Map.of(rule, new FencedRedisWriter.Mark(T0 + 65_000, T0 + 66_000))).get(rule));
        assertEquals(new FencedRedisWriter.Closing(T0 + 65_000, 0), writer.close(Map.of(rule, new FencedRedisWriter.Mark(T0 + 65_000, T0 + 66_000))).get(rule));
        assertEquals(new FencedRedisWriter.Closing(T0 + 65_000, 0), writer.close(Map.of(rule, new FencedRedisWriter.Mark(T0 + 5_000, T0 + 6_000))).get(rule), "marks never go back");
        assertEquals(Map.of(tenant + ":close", T0 + 65_000L), writer.loadClosedMarks(List.of(rule)));
        assertEquals(Long.toString(T0 + 66_000), redis.hget(StateKeys.meta(tenant, rule.id()), "watermark"), "the watermark is kept beside the mark");
    }

    @Test
    void closingRollsEachWindowThatTurnsFinalUpIntoItsRollupWindowOnce() {
        RuleRecord plain = rule("rollup").record();
        CompiledRule rule = CompiledRule.compile(new RuleRecord(tenant, "rollup", 1, "rollup", null, plain.groupBy(), plain.aggregations(),
            plain.window(), "PT5S", "PT24H", null, null, null, new RuleRecord.Rollup("PT3M", "P30D")));
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        long offset = 10;
        // Three windows inside the rollup window [T0, T0 + 3m), one in the next.
        for (long at : new long[] {1_000, 61_000, 121_000, 181_000}) {
            PartitionFold fold = new PartitionFold(3, state, T0 + 60_000);
            fold.add(offset, new Event(tenant, "e" + offset, "c", T0 + at, null, "US", (double) at / 1_000, Map.of("user", "u" + at, "team",
                at == 61_000 ? "celtics" : "lakers"), null), DedupIndex.NONE, t -> List.of(rule));
            fold.add(offset + 1, new Event(tenant, "f" + offset, "c", T0 + at, null, "US", 1.0, Map.of("user", "u1", "team", "lakers"), null),
                DedupIndex.NONE, t -> List.of(rule));
            assertTrue(writer.apply(List.of(fold), Map.of(3, state)).get(3).get(rule.key()).applied());
            state.setFence(rule, fold.lastOffset());
            offset += 2;
        }
        String tag = StateKeys.ruleTag(tenant, "rollup");
        String coarse = StateKeys.window(tag, "1:r180000", T0);
        String g = GROUP + SEP;
        // Closing past the third window's close (its end plus the lateness) rolls the first three up.
        writer.close(Map.of(rule, new FencedRedisWriter.Mark(T0 + 185_000, T0 + 190_000)));
        Map<String, String> w = redis.hgetall(coarse);
        assertEquals("6", w.get(g), "events of the three windows");
        assertEquals(1 + 61 + 121 + 3.0, Double.parseDouble(w.get(g + "s")));
        assertEquals(1.0, Double.parseDouble(w.get(g + "lo")));
        assertEquals(121.0, Double.parseDouble(w.get(g + "hi")));
        assertEquals("6", w.get(g + "a" + SEP + "n"));
        assertEquals("1", w.get(SEP + "g"), "one group");
        assertEquals(4L, redis.pfcount(StateKeys.distinctPrefix(tag, "1:r180000") + T0 + ":" + groupHash() + ":d"), "u1, u1000, u61000, u121000");
        String top = StateKeys.distinctPrefix(tag, "1:r180000").replace(":h:", ":t:") + T0 + ":" + groupHash() + ":t";
        assertEquals(5.0, redis.zscore(top, "\"lakers\""));
        assertEquals(1.0, redis.zscore(top, "\"celtics\""));
        long ttl = redis.pttl(coarse);
        assertTrue(ttl > Duration.ofDays(29).toMillis(), "kept for the rollup's retention: " + ttl);
        assertEquals(Map.of(), redis.hgetall(StateKeys.window(tag, "1:r180000", T0 + 180_000)), "the fourth window is not final yet");

        // Closing further rolls only what turned final since: the first rollup window is not added to twice.
        writer.close(Map.of(rule, new FencedRedisWriter.Mark(T0 + 245_000, T0 + 250_000)));
        writer.close(Map.of(rule, new FencedRedisWriter.Mark(T0 + 245_000, T0 + 250_000)));
        assertEquals("6", redis.hget(coarse, g));
        assertEquals("2", redis.hget(StateKeys.window(tag, "1:r180000", T0 + 180_000), g));
    }

    private static String groupHash() {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-1").digest(GROUP.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(digest, 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aBatchFoldedBeforeTheRuleWasClosedFurtherIsRefusedWhole() {
        CompiledRule rule = rule("closed");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        PartitionFold fold = new PartitionFold(3, state, T0 + 60_000, r -> T0, PartitionFold.DEFAULT_SCRIPT_CELLS);
        fold.add(10, event("a", 1, "u1", "x"), DedupIndex.NONE, t -> List.of(rule));
        writer.close(Map.of(rule, new FencedRedisWriter.Mark(T0 + 65_000, T0 + 65_000)));
        ApplyOutcome outcome = writer.apply(List.of(fold), Map.of(3, state)).get(3).get(tenant + ":closed");
        assertTrue(outcome.closedMoved(), outcome.toString());
        assertEquals(Map.of(), window(rule), "nothing of the batch was written");
        assertEquals(null, redis.hget(StateKeys.fence(tenant, rule.id()), "3"));
    }

    @Test
    void aBatchWritingOnlyWindowsStillOpenAppliesAlthoughTheRuleWasClosedFurther() {
        CompiledRule rule = rule("open");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        PartitionFold fold = new PartitionFold(3, state, T0 + 60_000, r -> T0, PartitionFold.DEFAULT_SCRIPT_CELLS);
        fold.add(10, event("a", 1, "u1", "x"), DedupIndex.NONE, t -> List.of(rule));
        // Closed up to the window before: the batch's window [T0, T0 + 1 min) is still open.
        writer.close(Map.of(rule, new FencedRedisWriter.Mark(T0 + 5_000, T0 + 5_000)));
        assertTrue(writer.apply(List.of(fold), Map.of(3, state)).get(3).get(tenant + ":open").applied());
        assertEquals("1", window(rule).get(GROUP + SEP));
    }

    @Test
    void keepsEveryIdOfALargeBatchWithItsOffsetAndTheGenerationsExpiry() {
        CompiledRule rule = rule("ids");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        PartitionFold fold = new PartitionFold(3, state, T0 + 60_000);
        for (int i = 0; i < 1_500; i++) {
            fold.add(100 + i, event("id-" + i, 1, "u", "x"), DedupIndex.NONE, t -> List.of(rule));
        }
        writer.applyAsync(List.of(fold), Map.of(3, state), true).outcomes();
        var generation = fold.newIds().get(tenant).keySet().iterator().next();
        String key = StateKeys.dedup(3, tenant, generation.widthMillis(), generation.index());
        assertEquals(1_500L, redis.hlen(key));
        assertEquals("1599", redis.hget(key, "id-1499"));
        assertTrue(redis.pttl(key) > 0, "the generation expires");
        var seen = writer.seen(List.of(new IdLookup(3, tenant, List.of(generation), List.of("id-7", "nope"))));
        assertEquals(Map.of("id-7", 107L), seen.get(3).get(tenant));
    }

    @Test
    void watermarksAreNeverLowered() {
        String key = StateKeys.watermarks(3);
        PartitionState ahead = new PartitionState();
        ahead.advance(tenant, T0 + 5_000);
        PartitionFold fold = new PartitionFold(3, ahead, T0);
        writer.persistWatermarks(List.of(fold));
        PartitionState zombie = new PartitionState();
        zombie.advance(tenant, T0);
        writer.persistWatermarks(List.of(new PartitionFold(3, zombie, T0)));
        assertEquals(Long.toString(T0 + 5_000), redis.hget(key, tenant));
    }

    @Test
    void aBatchForAKeyHoldingAnotherTypeIsRefusedBeforeAnythingIsWritten() {
        CompiledRule rule = rule("wrongtype");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        apply(rule, state, 10, event("a", 1, "u1", "x"));
        // Something else wrote a string where the rule keeps a HyperLogLog: the script must not half-apply.
        String hll = StateKeys.distinct(tenant, rule.id(), 1, T0, GROUP, "d");
        redis.del(hll);
        redis.set(hll, "not a hyperloglog");
        ApplyOutcome outcome = apply(rule, state, 11, event("b", 1, "u2", "y"));
        assertTrue(outcome.poisoned(), outcome.toString());
        assertTrue(outcome.problem().contains(hll), outcome.problem());
        assertEquals("1", window(rule).get(GROUP + SEP), "no counter of the refused batch was written");
        assertEquals("10", redis.hget(StateKeys.fence(tenant, rule.id()), "3"));
        // A window hash overwritten by a string is refused the same way.
        String windowKey = StateKeys.window(tenant, rule.id(), 1, T0);
        redis.del(windowKey);
        redis.set(windowKey, "oops");
        assertTrue(apply(rule, state, 11, event("b", 1, "u2", "y")).poisoned());
    }

    @Test
    void aDeltaCutIntoPartsAppliesAsItsEventsWouldAndAPartRefusedStopsTheFenceWhereTheAppliedPartsEnd() {
        CompiledRule rule = rule("parts");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        // One write per script at most: each event is a part of its own (an event is never split).
        PartitionFold fold = new PartitionFold(3, state, T0 + 60_000, r -> Long.MIN_VALUE, 1);
        Event[] events = {event("a", 1, "u1", "x"), event("b", 2, "u2", "x"), event("c", 3, "u1", "y")};
        for (int i = 0; i < events.length; i++) {
            fold.add(20 + 2 * i, events[i], DedupIndex.NONE, t -> List.of(rule));
        }
        assertEquals(List.of(21L, 23L, RuleDelta.OPEN), fold.deltas().get(tenant + ":parts").parts().stream().map(RuleDelta.Part::end).toList());
        ApplyOutcome outcome = writer.apply(List.of(fold), Map.of(3, state)).get(3).get(tenant + ":parts");
        assertEquals(new ApplyOutcome(1, 3), outcome, "three scripts, one update each");
        Map<String, String> w = window(rule);
        assertEquals("3", w.get(GROUP + SEP));
        assertEquals(6.0, Double.parseDouble(w.get(GROUP + SEP + "s")));
        assertEquals("24", redis.hget(StateKeys.fence(tenant, rule.id()), "3"));
        state.setFence(rule, 24);

        // The second part writes a window whose key holds another type: the first part applies, the rest is refused.
        long next = T0 + 60_000;
        redis.set(StateKeys.window(tenant, rule.id(), 1, next), "oops");
        PartitionFold second = new PartitionFold(3, state, T0 + 60_000, r -> Long.MIN_VALUE, 1);
        second.add(30, event("d", 1, "u3", "x"), DedupIndex.NONE, t -> List.of(rule));
        second.add(31, new Event(tenant, "e", "c", next + 1_000, null, "US", 1.0, Map.of("user", "u4", "team", "x"), null),
            DedupIndex.NONE, t -> List.of(rule));
        second.add(32, event("f", 1, "u5", "x"), DedupIndex.NONE, t -> List.of(rule));
        ApplyOutcome refused = writer.apply(List.of(second), Map.of(3, state)).get(3).get(tenant + ":parts");
        assertTrue(refused.poisoned(), refused.toString());
        assertEquals(30, refused.appliedThrough(), "the first part moved the fence");
        assertEquals("30", redis.hget(StateKeys.fence(tenant, rule.id()), "3"));
        assertEquals("4", window(rule).get(GROUP + SEP), "the first part's event is counted, the third part's is not");
    }

    @Test
    void quarantiningMovesOnlyTheFenceAndOnlyFromWhereTheWriterExpectsIt() {
        CompiledRule rule = rule("quarantine");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        apply(rule, state, 10, event("a", 1, "u1", "x"));
        assertTrue(writer.quarantine(rule, 3, 10, 20));
        assertEquals("20", redis.hget(StateKeys.fence(tenant, rule.id()), "3"));
        assertTrue(writer.quarantine(rule, 3, 10, 20), "done already: a replay of the quarantine");
        assertEquals(false, writer.quarantine(rule, 3, 10, 30), "the fence is at 20, not 10: another writer");
        assertEquals("1", window(rule).get(GROUP + SEP), "no counter changed");
    }

    @Test
    void errorRepliesAboutTheClustersStateAreNeverPoison() {
        assertEquals(false, FencedRedisWriter.isPoison("OOM command not allowed when used memory > 'maxmemory'."));
        assertEquals(false, FencedRedisWriter.isPoison("CLUSTERDOWN The cluster is down"));
        assertEquals(false, FencedRedisWriter.isPoison("BUSY Redis is busy running a script."));
        assertEquals(false, FencedRedisWriter.isPoison("LOADING Redis is loading the dataset in memory"));
        assertEquals(false, FencedRedisWriter.isPoison(null));
        assertTrue(FencedRedisWriter.isPoison("ERR user_script:40: Script attempted to access a non local key"));
        assertTrue(FencedRedisWriter.isPoison("WRONGTYPE Operation against a key holding the wrong kind of value"));
    }

    /** A writer for which this test's tenant may keep {@code groups} groups per window. */
    private FencedRedisWriter writerWithGroupQuota(int groups) {
        return new FencedRedisWriter(() -> client,
            io.tally.model.TenantQuotas.parse(new io.tally.model.TenantQuotas.Quota(100, 10_000, 1440), tenant + "=groups:" + groups));
    }

    @Test
    void groupsBeyondTheTenantsQuotaAreCountedInOtherAndReported() {
        CompiledRule rule = rule("quota");
        FencedRedisWriter limited = writerWithGroupQuota(2);
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        PartitionFold first = new PartitionFold(3, state, T0 + 60_000);
        String[] geos = {"US", "DE", "FR", "JP"};
        for (int i = 0; i < geos.length; i++) {
            first.add(10 + i, new Event(tenant, "g" + i, "c", T0 + 1_000, null, geos[i], 1.0, Map.of("user", "u" + i, "team", "x"), null),
                DedupIndex.NONE, t -> List.of(rule));
        }
        assertTrue(limited.apply(List.of(first), Map.of(3, state)).get(3).get(tenant + ":quota").applied());
        state.setFence(rule, first.lastOffset());
        PartitionFold second = new PartitionFold(3, state, T0 + 60_000);
        second.add(20, new Event(tenant, "g9", "c", T0 + 1_000, null, "FR", 1.0, Map.of("user", "u9", "team", "x"), null),
            DedupIndex.NONE, t -> List.of(rule));
        second.add(21, new Event(tenant, "g10", "c", T0 + 1_000, null, "US", 1.0, Map.of("user", "u10", "team", "x"), null),
            DedupIndex.NONE, t -> List.of(rule));
        assertTrue(limited.apply(List.of(second), Map.of(3, state)).get(3).get(tenant + ":quota").applied());

        var read = RuleState.read(connection.async(), RuleSpec.of(rule.record()), List.of(T0)).join();
        RawWindow window = read.windows().getFirst();
        var groups = ASSEMBLER.groups(RuleSpec.of(rule.record()), window, Map.of());
        Map<Object, Object> events = new java.util.TreeMap<>();
        Map<Object, Object> users = new java.util.TreeMap<>();
        groups.forEach(g -> {
            events.put(g.group().get("geo"), g.values().get("n"));
            users.put(g.group().get("geo"), g.values().get("d"));
        });
        // The first two groups of the window keep their own counts; every later one goes to __other__.
        assertEquals(Map.of("DE", 1L, "US", 2L, "__other__", 3L), events);
        assertEquals(Map.of("DE", 1L, "US", 2L, "__other__", 3L), users, "distinct values of the spilled groups are counted in __other__");
        assertEquals(2, window.overflowGroups(), "FR and JP (FR twice) went to __other__");
        assertTrue(redis.pttl(StateKeys.window(tenant, rule.id(), 1, T0) + ":of") > 0, "the overflow estimate expires with its window");
    }

    /** Applies one batch of events (one per geo, offsets from {@code offset}) with {@code writer}; moves the fence past it. */
    private PartitionFold batch(FencedRedisWriter writer, CompiledRule rule, PartitionState state, long offset, String... geos) {
        PartitionFold fold = new PartitionFold(3, state, T0 + 60_000);
        for (int i = 0; i < geos.length; i++) {
            fold.add(offset + i, new Event(tenant, rule.id() + "-" + offset + "-" + i, "c", T0 + 1_000, null, geos[i], 1.0,
                Map.of("user", "u", "team", "x"), null), DedupIndex.NONE, t -> List.of(rule));
        }
        assertTrue(writer.apply(List.of(fold), Map.of(3, state)).get(3).get(tenant + ":" + rule.id()).applied());
        state.setFence(rule, fold.lastOffset());
        return fold;
    }

    @Test
    void aWindowCountsEachOfItsGroupsOnceWhetherOrNotTheBatchCouldReachTheQuota() {
        CompiledRule rule = rule("groups");
        FencedRedisWriter limited = writerWithGroupQuota(4);
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        String groups = SEP + "g";
        // Room for every group of the batch (0 + 2 <= 4): new groups are known by their first event count.
        batch(limited, rule, state, 10, "US", "DE", "US");
        assertEquals("2", window(rule).get(groups));
        // Still room (2 + 2 <= 4): US is not new, FR is.
        batch(limited, rule, state, 20, "US", "FR");
        assertEquals("3", window(rule).get(groups));
        // No room for all (3 + 3 > 4): each group looked up; JP takes the last place, BR goes to __other__.
        batch(limited, rule, state, 30, "DE", "JP", "BR");
        assertEquals("4", window(rule).get(groups));
        assertEquals("2", window(rule).get("[\"DE\"]" + SEP));
        assertEquals("1", window(rule).get("[\"JP\"]" + SEP));
        assertEquals("1", window(rule).get("[\"__other__\"]" + SEP));
        assertEquals(null, window(rule).get("[\"BR\"]" + SEP));
        assertEquals("3", window(rule).get(GROUP + SEP), "US: two events in the first batch, one in the second");
    }

    @Test
    void aTopkKeepsABoundedSketchThatHoldsTheFrequentValues() {
        CompiledRule rule = rule("sketch");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        PartitionFold fold = new PartitionFold(3, state, T0 + 60_000);
        long offset = 10;
        for (int i = 0; i < 300; i++) {
            fold.add(offset++, event("rare" + i, 1, "u", "team-" + i), DedupIndex.NONE, t -> List.of(rule));
        }
        for (int i = 0; i < 80; i++) {
            fold.add(offset++, event("hot" + i, 1, "u", "hot"), DedupIndex.NONE, t -> List.of(rule));
        }
        assertTrue(writer.apply(List.of(fold), Map.of(3, state)).get(3).get(tenant + ":sketch").applied());
        String top = StateKeys.topk(tenant, rule.id(), 1, T0, GROUP, "t");
        assertEquals(StateKeys.topkCapacity(3), redis.zcard(top), "at most the capacity of counters");
        double hot = redis.zscore(top, "\"hot\"");
        // Space-Saving: at least the true count, at most events / capacity above it.
        assertTrue(hot >= 80 && hot <= 80 + 380.0 / StateKeys.topkCapacity(3), "hot counted " + hot);
        var read = RuleState.read(connection.async(), RuleSpec.of(rule.record()), List.of(T0)).join();
        var groups = new ResultAssembler(json -> List.of((Object) json), json -> json)
            .groups(RuleSpec.of(rule.record()), read.windows().getFirst(), Map.of());
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> shown = (List<Map<String, Object>>) groups.getFirst().values().get("t");
        assertEquals("\"hot\"", shown.getFirst().get("value"), "the frequent value leads the topk: " + shown);
        assertEquals(3, shown.size());
    }

    @Test
    void aBrokenKeyReadsAsEmptyInsteadOfFailingEveryReadOfTheRule() {
        CompiledRule rule = rule("readable");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        apply(rule, state, 10, event("a", 2, "u1", "x"));
        redis.del(StateKeys.topk(tenant, rule.id(), 1, T0, GROUP, "t"));
        redis.set(StateKeys.topk(tenant, rule.id(), 1, T0, GROUP, "t"), "broken");
        redis.del(StateKeys.distinct(tenant, rule.id(), 1, T0, GROUP, "d"));
        redis.set(StateKeys.distinct(tenant, rule.id(), 1, T0, GROUP, "d"), "broken");
        var read = RuleState.read(connection.async(), RuleSpec.of(rule.record()), List.of(T0)).join();
        var window = read.windows().getFirst();
        assertEquals("1", window.fields().get(GROUP + SEP), "the other values still read");
        assertEquals(0L, window.distinct().get(GROUP + SEP + "d"));
    }

    @Test
    void aReadTooLargeForOneScriptIsReadByOneScriptPerPartAndOneTooLargeForItsBudgetFails() {
        CompiledRule rule = rule("split");
        PartitionState state = new PartitionState();
        state.setFence(rule, -1);
        PartitionFold fold = new PartitionFold(3, state, T0 + 200_000);
        for (int w = 0; w < 3; w++) {
            fold.add(10 + w, new Event(tenant, "e" + w, "c", T0 + 60_000L * w + 1_000, null, "US", 1.0 + w, Map.of("user", "u" + w, "team", "t"), null),
                DedupIndex.NONE, t -> List.of(rule));
        }
        assertTrue(writer.apply(List.of(fold), Map.of(3, state)).get(3).get(tenant + ":split").applied());
        var view = RuleSpec.of(rule.record());
        List<Long> starts = List.of(T0, T0 + 60_000, T0 + 120_000);
        var whole = RuleState.read(connection.async(), view, starts).join();
        // A script stops after its first window: three scripts, the same answer.
        var parts = RuleState.read(connection.async(), view, StateKeys.ruleTag(view.tenant(), view.id()), starts, new RuleState.Budget(1, 0)).join();
        assertEquals(3, whole.windows().size());
        assertEquals(whole, parts);
        var tooLarge = assertThrows(java.util.concurrent.CompletionException.class,
            () -> RuleState.read(connection.async(), view, StateKeys.ruleTag(view.tenant(), view.id()), starts, new RuleState.Budget(1, 5)).join());
        assertTrue(tooLarge.getCause() instanceof RuleState.ReadTooLarge, tooLarge.toString());
    }

    @Test
    void aRuleKeptInShardsIsWrittenToEachShardsSlotAndReadBackMerged() {
        CompiledRule first = CompiledRule.compile(new RuleRecord(tenant, "sharded", 1, "sharded", null, List.of("geo"), List.of(
            new RuleRecord.Aggregation("n", "count", null, null),
            new RuleRecord.Aggregation("s", "sum", "value", null),
            new RuleRecord.Aggregation("hi", "max", "value", null),
            new RuleRecord.Aggregation("d", "distinct", "attributes.user", null)), new RuleRecord.Window("PT1M", null), "PT5S", "PT24H", 3));
        List<String> geos = List.of("US", "DE", "FR", "JP", "BR", "IN", "MX", "CA", "GB", "KR", "IT", "ES");
        PartitionState state = new PartitionState();
        PartitionFold fold = new PartitionFold(3, state, T0 + 60_000);
        for (int i = 0; i < 120; i++) {
            fold.add(100 + i, new Event(tenant, "sh" + i, "c", T0 + 1_000, null, geos.get(i % 12), (double) i, Map.of("user", "u" + i % 5), null),
                DedupIndex.NONE, t -> List.of(first));
        }
        var outcomes = writer.apply(List.of(fold), Map.of(3, state)).get(3);
        assertEquals(3, outcomes.size(), "one script per shard: " + outcomes.keySet());
        outcomes.values().forEach(o -> assertTrue(o.applied()));
        // Each shard on its own slot, with its own fence.
        Set<Integer> slots = new HashSet<>();
        for (CompiledRule shard : first.allShards()) {
            String tag = RuleShards.tag(tenant, "sharded", shard.shard(), 3);
            slots.add(SlotHash.getSlot(StateKeys.fence(tag)));
            assertEquals("219", redis.hget(StateKeys.fence(tag), "3"), "shard " + shard.shard());
        }
        assertEquals(3, slots.size());

        StateReader reader = new StateReader(() -> connection);
        StateReader.Snapshot read = reader.read(RuleSpec.of(first.record()), List.of(T0));
        assertEquals(3, read.seq(), "one applied batch in each of three shards");
        RawWindow window = read.windows().getFirst();
        long groups = 0;
        for (int g = 0; g < 12; g++) {
            String group = "[\"" + geos.get(g) + "\"]";
            assertEquals("10", window.fields().get(group + SEP), group);
            int gg = g;
            double sum = IntStream.range(0, 120).filter(i -> i % 12 == gg).sum();
            assertEquals(sum, Double.parseDouble(window.fields().get(group + SEP + "s")), group);
            assertEquals(108.0 + g, Double.parseDouble(window.fields().get(group + SEP + "hi")), group);
            assertEquals(Long.valueOf(IntStream.range(0, 120).filter(i -> i % 12 == gg).map(i -> i % 5).distinct().count()),
                window.distinct().get(group + SEP + "d"), group);
            groups++;
        }
        assertEquals("12", window.fields().get(SEP + "g"), "the shards' group counts add up");
        assertEquals(12, groups);
    }
}
