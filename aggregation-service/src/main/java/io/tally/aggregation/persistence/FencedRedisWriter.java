package io.tally.aggregation.persistence;

import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.async.RedisAdvancedClusterAsyncCommands;
import io.lettuce.core.cluster.models.partitions.Partitions;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.RedisCodec;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micronaut.context.annotation.Value;
import io.tally.fold.ApplyOutcome;
import io.tally.fold.CombinedPart;
import io.tally.fold.CompiledRule;
import io.tally.fold.DedupHorizon;
import io.tally.fold.Finality;
import io.tally.fold.IdLookup;
import io.tally.fold.PartitionFold;
import io.tally.fold.PartitionState;
import io.tally.fold.RuleDelta;
import io.tally.model.StateKeys;
import io.tally.model.TenantQuotas;
import io.tally.model.TimeSource;
import io.tally.redis.TextKeysByteValues;
import io.tally.results.LuaScript;
import io.tally.results.RuleShards;
import io.tally.results.SlotTags;
import io.tally.rule.RuleSpec;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * Writes folded batches to Redis Cluster. Each rule's delta goes in one Lua script that checks and
 * moves the rule's fence for the source partition, so a batch replayed after a crash is skipped and
 * readers never see half a batch. All scripts of a flush are pipelined on one connection.
 */
@Singleton
public class FencedRedisWriter {

    private static final Logger LOG = LoggerFactory.getLogger(FencedRedisWriter.class);
    private static final LuaScript APPLY = LuaScript.load(FencedRedisWriter.class, "/lua/apply-rule-delta.lua");
    private static final LuaScript RAISE_WATERMARKS = LuaScript.load(FencedRedisWriter.class, "/lua/raise-watermarks.lua");
    private static final LuaScript CLOSE = LuaScript.load(FencedRedisWriter.class, "/lua/close-rule.lua");
    private static final LuaScript RAISE_MARK = LuaScript.load(FencedRedisWriter.class, "/lua/raise-mark.lua");
    private static final LuaScript KEEP_IDS = LuaScript.load(FencedRedisWriter.class, "/lua/keep-ids.lua");
    private static final LuaScript QUARANTINE = LuaScript.load(FencedRedisWriter.class, "/lua/quarantine.lua");
    /** Run on each master's own connection (its keys are on that master, not found by slot). */
    private static final LuaScript MARK_APPLIED = LuaScript.load(FencedRedisWriter.class, "/lua/mark-applied.lua");
    private static final LuaScript HAND_OFF = LuaScript.load(FencedRedisWriter.class, "/lua/hand-off.lua");
    private static final LuaScript LEASE = LuaScript.load(FencedRedisWriter.class, "/lua/lease.lua");
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    /**
     * Keys as text, values as bytes, each written straight into the request: a batch's scripts carry hundreds of thousands
     * of arguments.
     */
    private static final RedisCodec<String, byte[]> BYTES = TextKeysByteValues.INSTANCE;

    private final Timer applyScript;
    private final Provider<RedisClusterClient> client;
    private final TenantQuotas quotas;
    private final TimeSource time;
    private final boolean ownFields;
    /** The applied marks this instance last read or wrote, per marks key and partition ({@link #completeFlush}). */
    private final Map<String, Map<Integer, String>> expectedMarks = new HashMap<>();
    private volatile StatefulRedisClusterConnection<String, byte[]> bytesConnection;
    private volatile StatefulRedisClusterConnection<String, byte[]> lookupConnection;

    /**
     * Connects on first use, so the service starts (and reports not ready) while Redis is away. One
     * connection for everything, so commands on one key (an id set and its expiry) keep their order.
     */
    @Inject
    public FencedRedisWriter(Provider<RedisClusterClient> client, TenantQuotas quotas, MeterRegistry meters, TimeSource time,
                             @Value("${tally.aggregation.own-fields:false}") boolean ownFields) {
        this.client = client;
        this.time = time;
        this.quotas = quotas;
        this.ownFields = ownFields;
        this.applyScript = Timer.builder("tally.redis.script").description("From sending a rule's apply script to its reply")
            .tag("script", "apply").publishPercentileHistogram().register(meters);
    }

    /** A writer whose timings go nowhere (tests). */
    public FencedRedisWriter(Provider<RedisClusterClient> client, TenantQuotas quotas) {
        this(client, quotas, new SimpleMeterRegistry(), TimeSource.SYSTEM, false);
    }

    /** A writer with the default quotas (tests). */
    public FencedRedisWriter(Provider<RedisClusterClient> client) {
        this(client, TenantQuotas.parse(new TenantQuotas.Quota(100, 10_000, 1440), ""));
    }

    private RedisAdvancedClusterAsyncCommands<String, byte[]> bytes() {
        return connection().async();
    }

    /**
     * The look-ups a flush makes before it folds (fences, finality marks, dedup ids, watermarks) go on a connection
     * of their own: on the writes' connection they would wait behind the previous batch's scripts, which Redis is
     * still running while the engine folds the next batch. They read nothing those scripts write that the engine
     * does not already know (a fence it asks for is one no batch in flight touched; the ids of the batch in flight
     * are passed to the next fold from memory).
     */
    private RedisAdvancedClusterAsyncCommands<String, byte[]> lookups() {
        StatefulRedisClusterConnection<String, byte[]> c = lookupConnection;
        if (c == null) {
            synchronized (this) {
                c = lookupConnection;
                if (c == null) {
                    c = connect();
                    lookupConnection = c;
                }
            }
        }
        return c.async();
    }

    private StatefulRedisClusterConnection<String, byte[]> connection() {
        StatefulRedisClusterConnection<String, byte[]> c = bytesConnection;
        if (c == null) {
            synchronized (this) {
                c = bytesConnection;
                if (c == null) {
                    c = connect();
                    bytesConnection = c;
                }
            }
        }
        return c;
    }

    private StatefulRedisClusterConnection<String, byte[]> connect() {
        try {
            return client.get().connect(BYTES);
        } catch (RuntimeException e) {
            throw new StateStoreException("Redis Cluster is unreachable: " + e.getMessage(), e);
        }
    }

    @PreDestroy
    void close() {
        for (StatefulRedisClusterConnection<String, byte[]> c : Arrays.asList(bytesConnection, lookupConnection)) {
            if (c != null) {
                c.close();
            }
        }
    }

    /** The hash tag of a rule shard's keys. */
    private static String tag(CompiledRule rule) {
        return RuleShards.tag(rule.tenant(), rule.stateId(), rule.shard(), rule.shards());
    }

    /** The fence a rule shard's writes check and move: the engine's, or the backfill's ({@link CompiledRule#backfill()}). */
    private static String fenceKey(CompiledRule rule) {
        return rule.backfill() ? StateKeys.backfillFence(tag(rule)) : StateKeys.fence(tag(rule));
    }

    /**
     * The tenant's quota of groups per window split over a rule's shards (rounded up): each shard keeps its share, so a
     * rule's window keeps about the quota however it is sharded.
     */
    static int groupsPerShard(int groupsPerWindow, int shards) {
        return groupsPerWindow <= 0 ? groupsPerWindow : (groupsPerWindow + shards - 1) / shards;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] number(long n) {
        return AsciiNumbers.of(n);
    }

    private static long parseLong(byte[] text) {
        return Long.parseLong(new String(text, StandardCharsets.US_ASCII));
    }


    /**
     * Applies every rule delta of the folds; returns each rule's outcome keyed by partition then rule key. A
     * script that fails on a rule's own data (an error reply that is not about the cluster's state) is that rule's
     * {@link ApplyOutcome#poisoned()} outcome, not a failure of the flush: the other rules are applied all the same.
     * Anything else (Redis away, a timeout, a failover in progress) throws {@link StateStoreException}.
     */
    public Map<Integer, Map<String, ApplyOutcome>> apply(List<PartitionFold> folds, Map<Integer, PartitionState> states) {
        return applyAsync(folds, states).outcomes();
    }

    /** The scripts of one batch, sent: Redis runs them while the engine folds the next batch. */
    public static final class Applying {

        private record Part(long end, CompletableFuture<List<Object>> reply) {
        }

        private final Map<Integer, Map<String, List<Part>>> pending;
        /** The dedup index's writes of the batch's new ids, sent after the scripts ({@link #applyAsync(List, Map, boolean)}). */
        private final List<CompletableFuture<?>> kept;
        private final CompletableFuture<Void> all;

        private Applying(Map<Integer, Map<String, List<Part>>> pending, List<CompletableFuture<?>> kept) {
            this.pending = pending;
            this.kept = kept;
            this.all = CompletableFuture.allOf(Stream.concat(pending.values().stream().flatMap(byRule -> byRule.values().stream())
                .flatMap(List::stream).map(Part::reply), kept.stream()).toArray(CompletableFuture[]::new));
        }

        /** Whether every script has its reply. */
        public boolean isDone() {
            return all.isDone();
        }

        /** Waits until every script has its reply, at most {@code timeout}; whether they all have. */
        public boolean awaitDone(Duration timeout) {
            try {
                all.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                // a failed reply is reported by outcomes(); a slow one is waited for again
            }
            return all.isDone();
        }

        /** Waits for every reply (at most the writer's timeout each), whatever they say: before the batch is dropped and read again. */
        public void awaitQuietly() {
            Stream.concat(pending.values().stream().flatMap(byRule -> byRule.values().stream()).flatMap(List::stream).map(Part::reply),
                kept.stream()).forEach(reply -> {
                    try {
                        reply.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } catch (Exception e) {
                        // what it said does not matter any more: the batch is read again from where Redis holds it
                    }
                });
        }

        /**
         * Each rule shard's outcome, as {@link #apply} returns them, once the batch's new ids are in the dedup index too
         * (a failure there fails the flush, as a script's does).
         */
        public Map<Integer, Map<String, ApplyOutcome>> outcomes() {
            Map<Integer, Map<String, ApplyOutcome>> outcomes = new HashMap<>();
            StateStoreException failure = null;
            for (CompletableFuture<?> ids : kept) {
                try {
                    await(ids);
                } catch (StateStoreException e) {
                    failure = failure == null ? e : failure;
                }
            }
            for (var p : pending.entrySet()) {
                Map<String, ApplyOutcome> byRule = new HashMap<>();
                for (var r : p.getValue().entrySet()) {
                    ApplyOutcome settled = null;
                    long appliedThrough = ApplyOutcome.NOTHING;
                    for (Part part : r.getValue()) {
                        try {
                            ApplyOutcome outcome = outcome(part.reply());
                            if (settled == null) {
                                if (outcome.applied() || outcome.result() == 0) {
                                    appliedThrough = part.end();
                                } else {
                                    settled = outcome.after(appliedThrough);
                                }
                            }
                            if (settled == null && part == r.getValue().getLast()) {
                                settled = outcome;
                            }
                        } catch (StateStoreException e) {
                            failure = failure == null ? e : failure; // every reply is awaited before the flush fails
                        }
                    }
                    if (settled != null) {
                        byRule.put(r.getKey(), settled);
                    }
                }
                outcomes.put(p.getKey(), byRule);
            }
            if (failure != null) {
                throw failure;
            }
            return outcomes;
        }
    }

    /**
     * Sends the scripts of every rule delta of the folds, in order, without waiting ({@link Applying#outcomes} waits).
     * The fences expected are those in {@code states} now: the batch before must have been settled.
     */
    public Applying applyAsync(List<PartitionFold> folds, Map<Integer, PartitionState> states) {
        return applyAsync(folds, states, false);
    }

    /**
     * As {@link #applyAsync(List, Map)}; with {@code keepIds}, the folds' new ids go to the dedup index right behind the
     * scripts, in the same pipeline, so Redis keeps them while the engine folds the next batch instead of in a round trip
     * of their own after the scripts answered. Keeping them before knowing the scripts' outcomes is safe: an id is kept
     * with the offset of its first sighting, and an id found at its own offset is that event read again (counted), not a
     * duplicate — whether its batch was applied, refused and folded again, or read again after a failure.
     */
    public Applying applyAsync(List<PartitionFold> folds, Map<Integer, PartitionState> states, boolean keepIds) {
        Map<Integer, Map<String, List<Applying.Part>>> pending = new LinkedHashMap<>();
        Map<String, List<Combinable>> combinable = new LinkedHashMap<>();
        for (PartitionFold fold : folds) {
            PartitionState state = states.get(fold.partition());
            Map<String, List<Applying.Part>> byRule = new LinkedHashMap<>();
            pending.put(fold.partition(), byRule);
            for (Map.Entry<String, RuleDelta> e : fold.deltas().entrySet()) {
                RuleDelta delta = e.getValue();
                CompiledRule rule = delta.rule();
                long fence = state.fence(rule);
                if (delta.parts().size() == 1 && fold.lastOffset() > fence && !uncombined.contains(e.getKey())) {
                    combinable.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(new Combinable(fold, delta, fence));
                    continue;
                }
                int groupsPerWindow = groupsPerShard(quotas.of(rule.tenant()).groupsPerWindow(), rule.shards());
                // The parts of one rule shard go to one slot, so one connection: Redis runs them in order, each moving the
                // fence to where the next one expects it. A refused part refuses every later one (the fence is not there).
                List<Applying.Part> parts = new ArrayList<>(delta.parts().size());
                for (RuleDelta.Part part : delta.parts()) {
                    long end = part.end() == RuleDelta.OPEN ? fold.lastOffset() : part.end();
                    ApplyScript script = ApplyScript.encode(fold.partition(), rule, tag(rule), fenceKey(rule), part, fence, end, fold.closedUpTo(rule),
                        groupsPerWindow, ownFields);
                    parts.add(new Applying.Part(end, evalsha(script.keys(), script.args())));
                    fence = end;
                }
                byRule.put(e.getKey(), parts);
            }
        }
        combinable.forEach((key, deltas) -> applyCombined(key, deltas, pending));
        return new Applying(pending, keepIds ? keepIds(folds) : List.of());
    }

    /** A rule shard's delta on one partition that can be applied together with the same rule shard's on others. */
    private record Combinable(PartitionFold fold, RuleDelta delta, long fence) {
    }

    /**
     * Rule shards whose deltas are applied partition by partition again: a script that combined partitions failed on the
     * rule's own data, and retried alone each partition's batch is quarantined only if it is its own that fails.
     */
    private final Set<String> uncombined = ConcurrentHashMap.newKeySet();

    /**
     * Applies one rule shard's single-part deltas of the batch's partitions ({@link CombinedPart}) by as few scripts as
     * their writes allow: each group written once, each partition's fence moved by the same script. Every partition's
     * share gets the script's reply as its outcome.
     */
    private void applyCombined(String key, List<Combinable> deltas, Map<Integer, Map<String, List<Applying.Part>>> pending) {
        CompiledRule rule = deltas.getFirst().delta().rule();
        int groupsPerWindow = groupsPerShard(quotas.of(rule.tenant()).groupsPerWindow(), rule.shards());
        // One batch folds every partition with the same finality marks; combined only with the same mark all the same.
        Map<Long, List<Combinable>> byMark = new LinkedHashMap<>();
        deltas.forEach(d -> byMark.computeIfAbsent(d.fold().closedUpTo(rule), m -> new ArrayList<>()).add(d));
        byMark.forEach((closedUpTo, marked) -> {
            CombinedPart combined = new CombinedPart(rule.ops().length, marked.getFirst().delta().maxCells());
            for (Combinable d : marked) {
                CombinedPart.Share share = new CombinedPart.Share(d.fold().partition(), d.delta().parts().getFirst(), d.fence(), d.fold().lastOffset());
                if (!combined.add(share)) {
                    sendCombined(key, rule, combined, closedUpTo, groupsPerWindow, pending);
                    combined = new CombinedPart(rule.ops().length, d.delta().maxCells());
                    combined.add(share);
                }
            }
            sendCombined(key, rule, combined, closedUpTo, groupsPerWindow, pending);
        });
    }

    private void sendCombined(String key, CompiledRule rule, CombinedPart combined, long closedUpTo, int groupsPerWindow,
                              Map<Integer, Map<String, List<Applying.Part>>> pending) {
        ApplyScript script = ApplyScript.encode(combined, rule, tag(rule), fenceKey(rule), closedUpTo, groupsPerWindow, ownFields);
        CompletableFuture<List<Object>> reply = evalsha(script.keys(), script.args());
        if (combined.shares().size() > 1) {
            // The outcome waits for this: the batch read again after it is applied partition by partition.
            reply = reply.whenComplete((r, e) -> {
                Throwable cause = e instanceof CompletionException c && c.getCause() != null ? c.getCause() : e;
                boolean poisoned = e != null ? cause instanceof RedisCommandExecutionException error && isPoison(error.getMessage())
                    : ((Number) r.getFirst()).longValue() == ApplyOutcome.POISON;
                if (poisoned && uncombined.add(key)) {
                    LOG.warn("a script combining partitions {} of rule shard {} failed on the rule's data: its partitions are applied one by one from now on",
                        combined.shares().stream().map(CombinedPart.Share::partition).toList(), key);
                }
            });
        }
        for (CombinedPart.Share share : combined.shares()) {
            pending.get(share.partition()).put(key, List.of(new Applying.Part(share.end(), reply)));
        }
    }

    private static ApplyOutcome outcome(CompletableFuture<List<Object>> future) {
        List<Object> reply;
        try {
            reply = future.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RedisCommandExecutionException error && isPoison(error.getMessage())) {
                return new ApplyOutcome(ApplyOutcome.POISON, 0, "the apply script failed: " + error.getMessage());
            }
            throw new StateStoreException("Redis did not answer: " + e.getCause(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StateStoreException("interrupted while writing to Redis", e);
        } catch (TimeoutException e) {
            throw new StateStoreException("Redis did not answer within " + TIMEOUT.toMillis() + " ms", e);
        }
        long result = ((Number) reply.get(0)).longValue();
        if (result == ApplyOutcome.POISON) {
            return new ApplyOutcome(result, 0, "key " + text(reply.get(1)) + " holds a value of another type than the rule stores there");
        }
        return new ApplyOutcome(result, ((Number) reply.get(1)).longValue());
    }

    private static String text(Object value) {
        return value instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(value);
    }

    /** Error replies about the cluster's state, memory or load: they pass, so the batch is tried again, never quarantined. */
    private static final List<String> TRANSIENT = List.of("OOM", "BUSY", "LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN",
        "NOREPLICAS", "READONLY", "MOVED", "ASK", "NOSCRIPT", "CROSSSLOT", "UNBLOCKED");

    /** True for an error reply of the script itself (a Lua error, a command refused on this rule's data). */
    static boolean isPoison(String message) {
        if (message == null) {
            return false;
        }
        String m = message.strip();
        return TRANSIENT.stream().noneMatch(prefix -> m.startsWith(prefix + " ") || m.equals(prefix) || m.contains(" " + prefix + " "));
    }

    /**
     * Moves a rule's fence past a batch without applying it (the batch went to the dead-letter topic instead);
     * false when the fence was not where this instance expected it (another writer, or a failover took it back).
     */
    public boolean quarantine(CompiledRule rule, int partition, long expectedFence, long lastOffset) {
        Long result = await(QUARANTINE.<String, byte[], Long>run(bytes(), ScriptOutputType.INTEGER,
            new String[] {fenceKey(rule)}, number(partition), number(expectedFence), number(lastOffset),
            number(rule.metaTtlMillis())));
        return result >= 0;
    }

    private CompletableFuture<List<Object>> evalsha(String[] keys, byte[][] args) {
        // EVALSHA saves sending the script each time; a node that has not seen it yet gets EVAL once.
        long sent = time.nanos();
        CompletableFuture<List<Object>> reply = APPLY.run(bytes(), ScriptOutputType.MULTI, keys, args);
        reply.whenComplete((r, e) -> applyScript.record(time.nanos() - sent, TimeUnit.NANOSECONDS));
        return reply;
    }


    /**
     * Sends the folds' new ids to the dedup index, each with the offset it was first seen at, without waiting: one
     * script per partition, tenant and generation (the ids and the generation's expiry in one step).
     */
    private List<CompletableFuture<?>> keepIds(List<PartitionFold> folds) {
        List<CompletableFuture<?>> pending = new ArrayList<>();
        long now = time.millis();
        for (PartitionFold fold : folds) {
            int partition = fold.partition();
            for (Map.Entry<String, Map<DedupHorizon.Generation, Map<String, Long>>> byTenant : fold.newIds().entrySet()) {
                String tenant = byTenant.getKey();
                for (Map.Entry<DedupHorizon.Generation, Map<String, Long>> ids : byTenant.getValue().entrySet()) {
                    DedupHorizon.Generation generation = ids.getKey();
                    String key = StateKeys.dedup(partition, tenant, generation.widthMillis(), generation.index());
                    byte[][] args = new byte[1 + 2 * ids.getValue().size()][];
                    args[0] = AsciiNumbers.of(now + DedupHorizon.keyLifetimeMillis(generation.widthMillis()));
                    int at = 1;
                    for (Map.Entry<String, Long> id : ids.getValue().entrySet()) {
                        args[at++] = utf8(id.getKey());
                        args[at++] = AsciiNumbers.of(id.getValue());
                    }
                    pending.add(KEEP_IDS.run(bytes(), ScriptOutputType.INTEGER, new String[] {key}, args));
                }
            }
        }
        return pending;
    }

    /**
     * Persists the watermarks each batch left ({@link PartitionFold#watermarks()}) once its scripts are settled (a
     * watermark raised before its batch is applied would make that batch's own events look late if it is read again),
     * and when each tenant was last seen on the partition.
     */
    public void persistWatermarks(List<PartitionFold> folds) {
        List<Future<?>> pending = new ArrayList<>();
        long now = time.millis();
        for (PartitionFold fold : folds) {
            Map<String, Long> watermarks = fold.watermarks();
            if (!watermarks.isEmpty()) {
                List<byte[]> args = new ArrayList<>(1 + 2 * watermarks.size() + 2 * fold.tenants().size());
                args.add(number(watermarks.size()));
                watermarks.forEach((tenant, wm) -> {
                    args.add(utf8(tenant));
                    args.add(number(wm));
                });
                byte[] seenAt = number(now);
                for (String tenant : fold.tenants()) {
                    args.add(utf8(tenant));
                    args.add(seenAt);
                }
                pending.add(RAISE_WATERMARKS.run(bytes(), ScriptOutputType.INTEGER,
                    new String[] {StateKeys.watermarks(fold.partition()), StateKeys.lastSeen(fold.partition())}, args.toArray(byte[][]::new)));
            }
        }
        pending.forEach(FencedRedisWriter::await);
    }

    /** Each rule shard's finality mark (Long.MIN_VALUE when it has none yet), keyed by {@link CompiledRule#key()}; one pipelined round trip. */
    public Map<String, Long> loadClosedMarks(Collection<CompiledRule> rules) {
        return closedMarks(askClosedMarks(rules));
    }

    private Map<String, RedisFuture<byte[]>> askClosedMarks(Collection<CompiledRule> rules) {
        Map<String, RedisFuture<byte[]>> pending = new LinkedHashMap<>();
        for (CompiledRule rule : rules) {
            pending.putIfAbsent(rule.key(), lookups().hget(StateKeys.meta(tag(rule)), "closed"));
        }
        return pending;
    }

    private static Map<String, Long> closedMarks(Map<String, RedisFuture<byte[]>> pending) {
        Map<String, Long> marks = new HashMap<>();
        pending.forEach((key, future) -> {
            byte[] value = await(future);
            marks.put(key, value == null ? Long.MIN_VALUE : parseLong(value));
        });
        return marks;
    }

    /**
     * The clocks of each of these tenants on every one of the first {@code partitions} partitions, one per
     * partition (one pipelined round trip).
     */
    public Map<String, List<Finality.PartitionClock>> partitionClocks(int partitions, Collection<String> tenants) {
        List<RedisFuture<Map<String, byte[]>>> watermarks = new ArrayList<>();
        List<RedisFuture<Map<String, byte[]>>> seen = new ArrayList<>();
        List<RedisFuture<byte[]>> caughtUp = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            watermarks.add(bytes().hgetall(StateKeys.watermarks(p)));
            seen.add(bytes().hgetall(StateKeys.lastSeen(p)));
            caughtUp.add(bytes().get(StateKeys.caughtUp(p)));
        }
        Map<String, List<Finality.PartitionClock>> clocks = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            Map<String, byte[]> lastSeen = await(seen.get(p));
            byte[] caught = await(caughtUp.get(p));
            long caughtAt = caught == null ? 0 : parseLong(caught);
            Map<String, byte[]> marks = await(watermarks.get(p));
            for (String tenant : tenants) {
                byte[] wm = marks.get(tenant);
                byte[] at = lastSeen.get(tenant);
                clocks.computeIfAbsent(tenant, t -> new ArrayList<>()).add(new Finality.PartitionClock(
                    wm == null ? Long.MIN_VALUE : parseLong(wm), at == null ? 0 : parseLong(at), caughtAt));
            }
        }
        return clocks;
    }

    /**
     * Records that the engine had read everything these partitions held at {@code at} (wall clock), without
     * waiting: a lost mark only delays finality by one round. Never moves a mark back.
     */
    public void markCaughtUp(Collection<Integer> partitions, long at) {
        for (int p : partitions) {
            RAISE_MARK.run(bytes(), ScriptOutputType.INTEGER, new String[] {StateKeys.caughtUp(p)}, number(at));
        }
    }

    /** What closing a rule did: its mark before, and its update sequence after (0: it was closed that far already). */
    public record Closing(long before, long seq) {
    }

    /** Where a rule is closed up to, and the tenant's finality watermark that closes it there. */
    public record Mark(long closedUpTo, long watermark) {
    }

    /** Closes each rule up to its mark ({@link Finality}) and keeps the watermark beside it; one pipelined round trip. */
    public Map<CompiledRule, Closing> close(Map<CompiledRule, Mark> marks) {
        Map<CompiledRule, CompletableFuture<List<Object>>> pending = new LinkedHashMap<>();
        marks.forEach((rule, mark) -> {
            List<byte[]> args = new ArrayList<>(List.of(number(mark.closedUpTo()), number(rule.metaTtlMillis()), number(mark.watermark())));
            if (rule.spec().hasRollup()) {
                args.addAll(rollupArgs(rule));
            }
            pending.put(rule, CLOSE.run(bytes(), ScriptOutputType.MULTI, new String[] {StateKeys.meta(tag(rule))}, args.toArray(byte[][]::new)));
        });
        Map<CompiledRule, Closing> closings = new LinkedHashMap<>();
        pending.forEach((rule, future) -> {
            List<Object> reply = await(future);
            closings.put(rule, new Closing(((Number) reply.get(0)).longValue(), ((Number) reply.get(1)).longValue()));
        });
        return closings;
    }

    /**
     * What {@code close-rule.lua} needs to roll the windows a close makes final up into the rule's rollup tier: the key
     * prefixes of both tiers, the sizes, lateness and lifetimes, and how each aggregation adds up.
     */
    private static List<byte[]> rollupArgs(CompiledRule rule) {
        RuleSpec spec = rule.spec();
        RuleSpec rollup = spec.rollupView();
        String tag = tag(rule);
        List<byte[]> args = new ArrayList<>();
        args.add(utf8(StateKeys.windowPrefix(tag, spec.keyVersion())));
        args.add(utf8(StateKeys.distinctPrefix(tag, spec.keyVersion())));
        args.add(utf8(StateKeys.windowPrefix(tag, rollup.keyVersion())));
        args.add(utf8(StateKeys.distinctPrefix(tag, rollup.keyVersion())));
        args.add(number(spec.sizeMillis()));
        args.add(number(spec.latenessMillis()));
        args.add(number(spec.rollupMillis()));
        args.add(number(spec.rollupRetentionMillis()));
        args.add(number(spec.retentionMillis()));
        args.add(number(spec.ops().size()));
        for (RuleSpec.Aggregation a : spec.ops()) {
            args.add(utf8(a.name()));
            args.add(utf8(switch (a.kind()) {
                case COUNT, RATE -> "i";
                case SUM -> "f";
                case MIN -> "<";
                case MAX -> ">";
                case AVG -> "a";
                case DISTINCT -> "h";
                case TOPK -> "t:" + StateKeys.topkCapacity(a.k());
            }));
        }
        return args;
    }

    /** Loads the unknown fences of these rules, for every partition at once (one pipelined round trip). */
    public void loadFences(Map<Integer, List<CompiledRule>> rulesByPartition, Map<Integer, PartitionState> states) {
        takeFences(askFences(rulesByPartition, states), states);
    }

    private Map<Integer, Map<CompiledRule, RedisFuture<byte[]>>> askFences(Map<Integer, List<CompiledRule>> rulesByPartition,
                                                                          Map<Integer, PartitionState> states) {
        Map<Integer, Map<CompiledRule, RedisFuture<byte[]>>> pending = new LinkedHashMap<>();
        rulesByPartition.forEach((partition, rules) -> {
            PartitionState state = states.get(partition);
            Map<CompiledRule, RedisFuture<byte[]>> byRule = new LinkedHashMap<>();
            for (CompiledRule rule : rules) {
                if (!state.knowsFence(rule)) {
                    byRule.put(rule, lookups().hget(fenceKey(rule), Integer.toString(partition)));
                }
            }
            pending.put(partition, byRule);
        });
        return pending;
    }

    private static void takeFences(Map<Integer, Map<CompiledRule, RedisFuture<byte[]>>> pending, Map<Integer, PartitionState> states) {
        pending.forEach((partition, byRule) -> byRule.forEach((rule, future) -> {
            byte[] value = await(future);
            states.get(partition).setFence(rule, value == null ? -1 : parseLong(value));
        }));
    }

    /** What a flush looks up before it folds: each rule shard's finality mark, and where the batch's ids were first seen. */
    public record Lookups(Map<String, Long> closedMarks, Map<Integer, Map<String, Map<String, Long>>> seen) {
    }

    /**
     * Everything a flush looks up before it folds, in one pipelined round trip: the unknown fences of these rule
     * shards (into {@code states}), every rule shard's finality mark ({@link #loadClosedMarks}) and where the ids were
     * first seen ({@link #seen}).
     */
    public Lookups lookUp(Map<Integer, List<CompiledRule>> rulesByPartition, Map<Integer, PartitionState> states, List<IdLookup> ids) {
        Map<String, RedisFuture<byte[]>> marks = askClosedMarks(rulesByPartition.values().stream().flatMap(List::stream).toList());
        Map<Integer, Map<CompiledRule, RedisFuture<byte[]>>> fences = askFences(rulesByPartition, states);
        List<SeenAsk> seen = askSeen(ids);
        takeFences(fences, states);
        return new Lookups(closedMarks(marks), takeSeen(seen));
    }

    /** Restores a partition's watermarks. */
    public void loadWatermarks(int partition, PartitionState state) {
        Map<String, byte[]> stored = await(lookups().hgetall(StateKeys.watermarks(partition)));
        stored.forEach((tenant, wm) -> state.restoreWatermark(tenant, parseLong(wm)));
    }

    /**
     * Where ids were first seen in earlier batches, for every partition at once (one pipelined round trip).
     * Output: partition → tenant → id → the lowest offset it was recorded at (only ids seen).
     */
    public Map<Integer, Map<String, Map<String, Long>>> seen(List<IdLookup> lookups) {
        return takeSeen(askSeen(lookups));
    }

    private record SeenAsk(IdLookup lookup, RedisFuture<List<KeyValue<String, byte[]>>> answer) {
    }

    private List<SeenAsk> askSeen(List<IdLookup> lookups) {
        List<SeenAsk> asks = new ArrayList<>();
        for (IdLookup lookup : lookups) {
            String[] fields = lookup.ids().toArray(String[]::new);
            for (DedupHorizon.Generation g : lookup.generations()) {
                asks.add(new SeenAsk(lookup, lookups().hmget(StateKeys.dedup(lookup.partition(), lookup.tenant(), g.widthMillis(), g.index()), fields)));
            }
        }
        return asks;
    }

    private static Map<Integer, Map<String, Map<String, Long>>> takeSeen(List<SeenAsk> asks) {
        Map<Integer, Map<String, Map<String, Long>>> seen = new HashMap<>();
        for (SeenAsk ask : asks) {
            for (KeyValue<String, byte[]> member : await(ask.answer())) {
                if (member.hasValue()) {
                    seen.computeIfAbsent(ask.lookup().partition(), p -> new HashMap<>()).computeIfAbsent(ask.lookup().tenant(), t -> new HashMap<>())
                        .merge(member.getKey(), parseLong(member.getValue()), Math::min);
                }
            }
        }
        return seen;
    }

    /**
     * Completes a flush on every Redis master: records there how far each flushed partition got (the master's
     * applied marks), then waits until the master passed that, and so every write of the flush before it, to
     * {@code required} replicas (or to as many as it has). Replication is asynchronous: without the wait, a
     * master that dies right after a flush takes writes with it that its promoted replica never saw, while the
     * offsets committed after the flush already point past them. The marks go to every master, written or not, so
     * each one says what it holds: a master restarted from an older snapshot (or empty) shows an older mark (or
     * none), and {@link #appliedMarks} makes the engine read from there again. Throws {@link StateStoreException}
     * when a master falls short within {@code timeout} or holds another mark than this instance left there.
     */
    public void completeFlush(List<PartitionFold> folds, int required, Duration timeout) {
        if (folds.isEmpty()) {
            return;
        }
        StatefulRedisClusterConnection<String, byte[]> cluster = connection();
        Partitions topology = cluster.getPartitions();
        record Ask(RedisClusterNode master, String key, int wanted, RedisFuture<List<byte[]>> marked, RedisFuture<Long> acknowledged) {
        }
        List<Ask> asks = new ArrayList<>();
        for (RedisClusterNode master : masters(topology)) {
            String key = marksKey(master);
            Map<Integer, String> expected = expectedMarks.getOrDefault(key, Map.of());
            List<byte[]> args = new ArrayList<>(3 * folds.size());
            for (PartitionFold fold : folds) {
                args.add(number(fold.partition()));
                args.add(utf8(expected.getOrDefault(fold.partition(), "")));
                args.add(number(fold.lastOffset()));
            }
            RedisAsyncCommands<String, byte[]> node;
            try {
                node = cluster.getConnection(master.getNodeId()).async();
            } catch (RuntimeException e) {
                throw new StateStoreException("Redis master " + master.getUri() + " is unreachable: " + e.getMessage(), e);
            }
            RedisFuture<List<byte[]>> marked = node.eval(MARK_APPLIED.source(), ScriptOutputType.MULTI, new String[] {key}, args.toArray(byte[][]::new));
            int replicas = (int) topology.getPartitions().stream().filter(n -> master.getNodeId().equals(n.getSlaveOf())).count();
            int wanted = Math.min(Math.max(required, 0), replicas);
            asks.add(new Ask(master, key, wanted, marked, wanted == 0 ? null : node.waitForReplication(wanted, timeout.toMillis())));
        }
        StateStoreException failure = null;
        for (Ask ask : asks) {
            List<byte[]> mismatched = await(ask.marked());
            if (!mismatched.isEmpty() && failure == null) {
                failure = new StateStoreException("Redis master " + ask.master().getUri() + " holds other applied marks than this instance left for"
                    + " partition(s) " + mismatched.stream().map(b -> new String(b, StandardCharsets.US_ASCII)).toList()
                    + " (it lost writes, or another instance wrote there); reading again from where it is");
            }
            if (ask.acknowledged() != null) {
                long acknowledged = await(ask.acknowledged());
                if (acknowledged < ask.wanted() && failure == null) {
                    failure = new StateStoreException("Redis master " + ask.master().getUri() + " passed the flush to " + acknowledged + " of "
                        + ask.wanted() + " replica(s) within " + timeout.toMillis() + " ms; the batch is applied again");
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
        for (Ask ask : asks) {
            Map<Integer, String> expected = expectedMarks.computeIfAbsent(ask.key(), k -> new HashMap<>());
            folds.forEach(fold -> expected.put(fold.partition(), Long.toString(fold.lastOffset())));
        }
    }

    /**
     * Where every Redis master's applied marks put each of these partitions: the lowest mark of any master,
     * absent when a master holds none for it (nothing of it was ever flushed there, or the master lost everything:
     * then only the committed offset can say). Resets what {@link #completeFlush} expects to find. One pipelined
     * round trip.
     */
    public Map<Integer, Long> appliedMarks(Collection<Integer> partitions) {
        if (partitions.isEmpty()) {
            return Map.of();
        }
        StatefulRedisClusterConnection<String, byte[]> cluster = connection();
        String[] fields = partitions.stream().map(String::valueOf).toArray(String[]::new);
        Map<String, RedisFuture<List<KeyValue<String, byte[]>>>> pending = new LinkedHashMap<>();
        for (RedisClusterNode master : masters(cluster.getPartitions())) {
            String key = marksKey(master);
            pending.put(key, bytes().hmget(key, fields));
        }
        Map<Integer, Long> lowest = new HashMap<>();
        Set<Integer> unmarked = new HashSet<>();
        pending.forEach((key, future) -> {
            Map<Integer, String> expected = expectedMarks.computeIfAbsent(key, k -> new HashMap<>());
            for (KeyValue<String, byte[]> mark : await(future)) {
                int partition = Integer.parseInt(mark.getKey());
                if (mark.hasValue()) {
                    expected.put(partition, new String(mark.getValue(), StandardCharsets.US_ASCII));
                    lowest.merge(partition, parseLong(mark.getValue()), Math::min);
                } else {
                    expected.remove(partition);
                    unmarked.add(partition);
                }
            }
        });
        unmarked.forEach(lowest::remove);
        return lowest;
    }

    private static List<RedisClusterNode> masters(Partitions topology) {
        List<RedisClusterNode> masters = topology.getPartitions().stream()
            .filter(n -> n.is(RedisClusterNode.NodeFlag.UPSTREAM) && !n.is(RedisClusterNode.NodeFlag.FAIL) && !n.hasNoSlots()).toList();
        if (masters.isEmpty()) {
            throw new StateStoreException("no Redis master serves any slot (the cluster is failing over)");
        }
        return masters;
    }

    /** A master's lowest slot (without {@link RedisClusterNode#getSlots()}, which lists every slot it has, each flush). */
    private static int firstSlot(RedisClusterNode master) {
        for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
            if (master.hasSlot(slot)) {
                return slot;
            }
        }
        throw new StateStoreException("Redis master " + master.getUri() + " serves no slot (the cluster is changing)");
    }

    /** The applied-marks hash of a master: on its first slot, so a promoted replica (same slots) has the same one. */
    private static String marksKey(RedisClusterNode master) {
        return "tally:applied:{" + SlotTags.tagOf(firstSlot(master)) + "}";
    }

    /**
     * Hands a version being backfilled over to the engine on these partitions ({@code hand-off.lua}): each partition's
     * hand-off is the offset given unless one was set before; every shard gets the first shard's hand-offs (and its engine
     * fence starts there). Returns the hand-offs (partition → last offset left to the backfill).
     */
    public Map<Integer, Long> handOff(CompiledRule rule, Map<Integer, Long> at) {
        Map<Integer, Long> handoffs = null;
        for (CompiledRule shard : rule.allShards()) {
            Map<Integer, Long> ask = handoffs == null ? at : handoffs;
            List<byte[]> args = new ArrayList<>(1 + 2 * ask.size());
            args.add(number(rule.metaTtlMillis()));
            ask.forEach((partition, offset) -> {
                args.add(number(partition));
                args.add(number(offset));
            });
            List<Object> reply = await(HAND_OFF.<String, byte[], List<Object>>run(bytes(), ScriptOutputType.MULTI,
                new String[] {StateKeys.handoff(tag(shard)), StateKeys.fence(tag(shard))}, args.toArray(byte[][]::new)));
            Map<Integer, Long> found = new HashMap<>();
            for (int i = 0; i + 1 < reply.size(); i += 2) {
                found.put((int) parseLong((byte[]) reply.get(i)), parseLong((byte[]) reply.get(i + 1)));
            }
            handoffs = found;
        }
        return handoffs;
    }

    /** Where the engine took over a version being backfilled, per partition (those not handed off yet are absent). */
    public Map<Integer, Long> handoffs(CompiledRule rule) {
        return longs(await(bytes().hgetall(StateKeys.handoff(tag(rule.allShards().getFirst())))));
    }

    /** The backfill's fence of each shard of a version ({@link CompiledRule#backfill()}), keyed by the shard's key. */
    public Map<String, Map<Integer, Long>> backfillFences(List<CompiledRule> shards) {
        Map<String, RedisFuture<Map<String, byte[]>>> asks = new LinkedHashMap<>();
        shards.forEach(shard -> asks.put(shard.key(), bytes().hgetall(StateKeys.backfillFence(tag(shard)))));
        Map<String, Map<Integer, Long>> fences = new HashMap<>();
        asks.forEach((key, ask) -> fences.put(key, longs(await(ask))));
        return fences;
    }

    private static Map<Integer, Long> longs(Map<String, byte[]> hash) {
        Map<Integer, Long> values = new HashMap<>();
        hash.forEach((field, value) -> values.put(Integer.parseInt(field), parseLong(value)));
        return values;
    }

    /**
     * Takes or keeps the lease on a version's backfill for {@code owner} ({@code lease.lua}); returns who holds it after
     * ({@code "done"} once the backfill ended).
     */
    public String lease(CompiledRule rule, String owner, Duration time) {
        return leaseCall(rule, owner, time, "take");
    }

    /** Marks a version's backfill done for {@code time}: no instance starts it again. */
    public String leaseDone(CompiledRule rule, String owner, Duration time) {
        return leaseCall(rule, owner, time, "done");
    }

    private String leaseCall(CompiledRule rule, String owner, Duration time, String what) {
        byte[] holder = await(LEASE.<String, byte[], byte[]>run(bytes(), ScriptOutputType.VALUE,
            new String[] {StateKeys.backfillLease(tag(rule.allShards().getFirst()))}, utf8(owner), number(time.toMillis()), utf8(what)));
        return holder == null ? "" : new String(holder, StandardCharsets.UTF_8);
    }

    /**
     * Waits until every Redis master passed what it holds to {@code required} replicas (at most as many as it has): what a
     * backfill does before it moves on, so a failover cannot take back what it reported applied.
     */
    public void awaitReplicas(int required, Duration timeout) {
        StatefulRedisClusterConnection<String, byte[]> cluster = connection();
        Partitions topology = cluster.getPartitions();
        Map<RedisClusterNode, RedisFuture<Long>> asks = new LinkedHashMap<>();
        Map<RedisClusterNode, Integer> wanted = new HashMap<>();
        for (RedisClusterNode master : masters(topology)) {
            int replicas = (int) topology.getPartitions().stream().filter(n -> master.getNodeId().equals(n.getSlaveOf())).count();
            int want = Math.min(Math.max(required, 0), replicas);
            if (want > 0) {
                wanted.put(master, want);
                asks.put(master, cluster.getConnection(master.getNodeId()).async().waitForReplication(want, timeout.toMillis()));
            }
        }
        asks.forEach((master, ask) -> {
            long acknowledged = await(ask);
            if (acknowledged < wanted.get(master)) {
                throw new StateStoreException("Redis master " + master.getUri() + " passed its writes to " + acknowledged + " of "
                    + wanted.get(master) + " replica(s) within " + timeout.toMillis() + " ms");
            }
        });
    }

    static <T> T await(Future<T> future) {
        try {
            return future.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StateStoreException("interrupted while writing to Redis", e);
        } catch (Exception e) {
            throw new StateStoreException("Redis did not answer: " + e.getMessage(), e);
        }
    }
}
