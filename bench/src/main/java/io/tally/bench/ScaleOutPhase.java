package io.tally.bench;

import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.tally.devstack.Deadline;
import io.tally.devstack.Ports;
import io.tally.devstack.StackConfig;
import io.tally.fold.CompiledRule;
import io.tally.model.Event;
import io.tally.model.EventCodec;
import io.tally.model.RuleRecord;
import io.tally.model.StateKeys;
import io.tally.model.TimeSource;
import io.tally.model.Topics;
import io.tally.results.RawWindow;
import io.tally.results.ResultAssembler;
import io.tally.results.RuleShards;
import io.tally.results.RuleState;
import io.tally.results.StateReader;
import io.tally.rule.RuleSpec;
import io.tally.testinfra.ServiceJar;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;

import static io.tally.bench.Bench.round2;
import static io.tally.bench.Bench.step;

/**
 * The scale-out phase: one hot rule (five aggregations, kept in as many shards as the cluster has masters) over one
 * workload, applied by 1, 2 and 3 aggregation instances in turn (each run a fresh rule and consumer group reading the
 * same records), each checked exact. Per run: events/s, CPU-seconds per million events of the aggregation JVMs and of
 * Redis (all nodes), and each master's share of the hot rule's script time and CPU.
 */
final class ScaleOutPhase {

    private ScaleOutPhase() {
    }

    /** The hot rule as it travels on tally.rules. */
    static String rule(String tenant, String id, int shards) {
        return """
            {"tenant":"%s","id":"%s","version":1,"groupBy":["category"],
             "aggregations":[{"name":"events","op":"count"},{"name":"perSec","op":"rate"},{"name":"revenue","op":"sum","field":"value"},
                             {"name":"mean","op":"avg","field":"value"},{"name":"top","op":"max","field":"value"}],
             "window":{"size":"PT1M"},"allowedLateness":"PT10S","retention":"PT2H","shards":%d}""".formatted(tenant, id, shards);
    }

    /** Per window and category: events and revenue of the unique events. */
    static Map<Long, Map<String, double[]>> truth(List<Event> events) {
        Map<Long, Map<String, double[]>> truth = new TreeMap<>();
        Set<String> seen = new HashSet<>();
        for (Event e : events) {
            if (seen.add(e.id())) {
                double[] cs = truth.computeIfAbsent(Math.floorDiv(e.timeMillis(), 60_000L) * 60_000L, w -> new HashMap<>())
                    .computeIfAbsent(e.category(), c -> new double[2]);
                cs[0]++;
                cs[1] += e.value();
            }
        }
        return truth;
    }

    /** The hot workload as written: whose records, where they are, and the ground truth's totals over the unique events. */
    record HotRecords(String tenant, Map<TopicPartition, Long> from, Map<TopicPartition, Long> to, long records, long unique, double revenue) {
    }

    static HotRecords run(StackConfig stack, Path root, Path logs, Admin admin, Workload.Params params, String run, Map<String, Object> results,
                          int maxInstances) throws Exception {
        long start = (TimeSource.SYSTEM.millis() - params.spanMillis() - 600_000) / 60_000 * 60_000;
        List<Event> events = Workload.generate(params, "hot-" + run, start);
        Map<Long, Map<String, double[]>> truth = truth(events);
        long unique = events.stream().map(Event::id).distinct().count();
        HotRecords written = null;
        RedisClusterClient client = RedisClusterClient.create(List.of(stack.redisUris().split(",")).stream().map(RedisURI::create).toList());
        List<Map<String, Object>> runs = new ArrayList<>();
        results.put("scaleOut.runs", runs);
        try (StatefulRedisClusterConnection<String, String> redis = client.connect()) {
            List<RedisClusterNode> masters = redis.getPartitions().getPartitions().stream()
                .filter(n -> n.is(RedisClusterNode.NodeFlag.UPSTREAM) && !n.getSlots().isEmpty())
                .sorted((a, b) -> Integer.compare(a.getSlots().getFirst(), b.getSlots().getFirst())).toList();
            int shards = masters.size();
            results.put("scaleOut.rule", "one rule, five aggregations (count, rate, sum, avg, max) by category, 1-minute windows, " + shards
                + " shards on " + shards + " Redis masters");
            String aggregationJar = root.resolve("aggregation-service/target/aggregation-service.jar").toString();
            for (int instances = 1; instances <= maxInstances; instances++) {
                // Each run its own tenant: the records are the same, but a tenant's watermarks and dedup ids are the
                // engine's state, and a run after another would find the events late (re-counting history is backfill).
                String tenant = "hot-" + run + "-" + instances;
                List<Event> own = events.stream().map(e -> new Event(tenant, e.id(), e.category(), e.timeMillis(), e.type(), e.geo(), e.value(),
                    e.attributes(), e.source())).toList();
                Map<TopicPartition, Long> before = EnginePhase.ends(admin, Topics.EVENTS);
                EnginePhase.write(stack, tenant, own, Map.of());
                Map<TopicPartition, Long> after = EnginePhase.ends(admin, Topics.EVENTS);
                long records = after.values().stream().mapToLong(Long::longValue).sum() - before.values().stream().mapToLong(Long::longValue).sum();
                double revenue = truth.values().stream().flatMap(m -> m.values().stream()).mapToDouble(cs -> cs[1]).sum();
                written = new HotRecords(tenant, before, after, records, unique, revenue);
                results.put("scaleOut.events", records);
                results.put("scaleOut.uniqueEvents", unique);
                String ruleId = "hot";
                String group = "bench-hot-" + run + "-" + instances;
                publishRule(stack, tenant, ruleId, rule(tenant, ruleId, shards));
                Map<TopicPartition, OffsetAndMetadata> from = new HashMap<>();
                before.forEach((p, offset) -> from.put(p, new OffsetAndMetadata(offset)));
                admin.alterConsumerGroupOffsets(group, from).all().get();
                List<ServiceJar> jars = new ArrayList<>();
                try {
                    for (int i = 0; i < instances; i++) {
                        int port = Ports.findFreeRange(1, false);
                        jars.add(ServiceJar.start(aggregationJar, port, Map.of("TALLY_KAFKA_BOOTSTRAP", stack.kafkaBootstrap(),
                                "TALLY_REDIS_URIS", stack.redisUris(), "TALLY_AGGREGATION_PORT", Integer.toString(port),
                                "TALLY_AGGREGATION_GROUP_ID", group, "TALLY_AGGREGATION_INSTANCE_ID", group + "-" + i),
                            logs.resolve("aggregation-hot-" + instances + "-" + i + ".log"), false, Bench.aggregationJvm()));
                    }
                    Map<String, Object> measured = time(admin, group, before, after, jars, redis, masters,
                        instances + " aggregation instance" + (instances == 1 ? "" : "s"));
                    double seconds = (double) measured.remove("seconds");
                    double rate = records / seconds;
                    String exact = check(client, tenant, ruleId, shards, truth);
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("instances", instances);
                    r.put("eventsPerSec", Math.round(rate));
                    r.put("exact", exact.equals("EXACT"));
                    r.putAll(measured);
                    runs.add(r);
                    step(String.format("  %d instance(s): %,.0f events/s, results %s; %s", instances, rate, exact, measured));
                    Map<String, Object> phasesBefore = flushPhases(jars);
                    Map<String, Object> fresh = freshness(stack, admin, group, redis, tenant, ruleId, shards);
                    Map<String, Object> phasesAfter = flushPhases(jars);
                    Map<String, Object> spent = new TreeMap<>();
                    phasesAfter.forEach((phase, total) -> spent.put(phase, round2(((Number) total).doubleValue()
                        - ((Number) phasesBefore.getOrDefault(phase, 0.0)).doubleValue())));
                    fresh.put("flushSecondsByPhaseWhileCaughtUp", spent);
                    r.putAll(fresh);
                    step("  freshness while caught up: " + fresh);
                } finally {
                    jars.forEach(ServiceJar::close);
                    publishRule(stack, tenant, ruleId, null);
                }
            }
        } finally {
            client.shutdown();
        }
        return written;
    }

    /** The flush-phase timers of the instances, summed (seconds per phase, and the flush count as {@code flushes}). */
    private static Map<String, Object> flushPhases(List<ServiceJar> jars) throws Exception {
        Map<String, Object> sum = new TreeMap<>();
        for (ServiceJar jar : jars) {
            EnginePhase.flushPhases(jar.port()).forEach((phase, seconds) -> sum.merge(phase, seconds,
                (a, b) -> ((Number) a).doubleValue() + ((Number) b).doubleValue()));
        }
        return sum;
    }

    /** Background load while freshness is sampled, events/s. */
    static final int CAUGHT_UP_LOAD = 20_000;
    static final int FRESHNESS_SAMPLES = 100;

    /**
     * Freshness while caught up: with a steady background load on the hot rule, probe events (each its own group) are
     * written one at a time; each one's time from the broker's acknowledgement to its group being in the rule's stored
     * window (where results and subscriptions read it).
     */
    private static Map<String, Object> freshness(StackConfig stack, Admin admin, String group, StatefulRedisClusterConnection<String, String> redis,
                                                 String tenant, String ruleId, int shards) throws Exception {
        CompiledRule rule = CompiledRule.compile(new RuleRecord(tenant, ruleId, 1, null, null, List.of("category"),
            List.of(new RuleRecord.Aggregation("events", "count", null, null)), new RuleRecord.Window("PT1M", null), "PT10S", "PT2H", shards));
        List<Long> took = new ArrayList<>();
        List<Instant> ackedAt = new ArrayList<>();
        AtomicBoolean loading = new AtomicBoolean(true);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap(),
            ProducerConfig.LINGER_MS_CONFIG, 5, ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), new ByteArraySerializer())) {
            Thread load = Thread.ofPlatform().name("caught-up-load").start(() -> {
                long sent = 0;
                long began = TimeSource.SYSTEM.nanos();
                Random random = new Random(1);
                while (loading.get()) {
                    long due = (TimeSource.SYSTEM.nanos() - began) * CAUGHT_UP_LOAD / 1_000_000_000L;
                    for (; sent < due; sent++) {
                        Event e = new Event(tenant, "load-" + ruleId + "-" + sent, "c" + random.nextInt(3_000), TimeSource.SYSTEM.millis(), "view", "US",
                            1.0, Map.of(), null);
                        producer.send(new ProducerRecord<>(Topics.EVENTS, e.partitionKey(), EventCodec.encode(e)));
                    }
                    LockSupport.parkNanos(1_000_000);
                }
            });
            try {
                // Caught up: the group is less than 100 ms of the load behind (it first reads what earlier runs' probes left).
                boolean caughtUp = Deadline.in(Duration.ofSeconds(60)).await(() -> {
                    try {
                        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
                        long behind = 0;
                        for (var end : EnginePhase.ends(admin, Topics.EVENTS).entrySet()) {
                            OffsetAndMetadata c = committed.get(end.getKey());
                            behind += end.getValue() - (c == null ? 0 : c.offset());
                        }
                        return behind < CAUGHT_UP_LOAD / 10;
                    } catch (Exception e) {
                        return false;
                    }
                }, Duration.ofMillis(100));
                if (!caughtUp) {
                    throw new IllegalStateException("the aggregation did not catch up with " + CAUGHT_UP_LOAD + " events/s in 60 s");
                }
                masters(redis).forEach(node -> redis.getConnection(node.getNodeId()).sync().slowlogReset());
                for (int i = 0; i < FRESHNESS_SAMPLES; i++) {
                    String category = "probe-" + ruleId + "-" + i;
                    long now = TimeSource.SYSTEM.millis();
                    String probeGroup = "[\"" + category + "\"]";
                    String window = StateKeys.window(RuleShards.tag(tenant, ruleId, rule.shardOf(probeGroup).shard(), shards), 1,
                        Math.floorDiv(now, 60_000L) * 60_000L);
                    Event probe = new Event(tenant, category, category, now, "view", "US", 1.0, Map.of(), null);
                    producer.send(new ProducerRecord<>(Topics.EVENTS, probe.partitionKey(), EventCodec.encode(probe))).get();
                    long acked = TimeSource.SYSTEM.nanos();
                    String field = probeGroup + StateKeys.SEP;
                    if (!Deadline.in(Duration.ofSeconds(10)).await(() -> redis.sync().hexists(window, field), Duration.ofMillis(2))) {
                        throw new IllegalStateException("probe " + category + " was not counted within 10 s");
                    }
                    took.add((TimeSource.SYSTEM.nanos() - acked) / 1_000_000);
                    ackedAt.add(Instant.ofEpochMilli(now));
                    Thread.sleep(50);
                }
            } finally {
                loading.set(false);
                load.join();
            }
        }
        long[] sorted = took.stream().mapToLong(Long::longValue).sorted().toArray();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("caughtUpLoadEventsPerSec", CAUGHT_UP_LOAD);
        m.put("freshnessP50Ms", Bench.pct(sorted, 50));
        m.put("freshnessP99Ms", Bench.pct(sorted, 99));
        // The slowest probes and when they were sent, to lay beside the services' logs (a pause, a rebalance, a slow flush).
        m.put("slowestProbes", IntStream.range(0, took.size()).boxed().sorted((a, b) -> Long.compare(took.get(b), took.get(a)))
            .limit(3).map(i -> took.get(i) + " ms at " + ackedAt.get(i)).toList());
        m.put("redisSlowCommandsWhileProbing", slowCommands(redis));
        return m;
    }

    /** The masters of the cluster now. */
    private static List<RedisClusterNode> masters(StatefulRedisClusterConnection<String, String> redis) {
        return redis.getPartitions().getPartitions().stream().filter(n -> n.is(RedisClusterNode.NodeFlag.UPSTREAM) && !n.getSlots().isEmpty()).toList();
    }

    /**
     * What Redis's slow log holds on the masters (commands over its threshold, 10 ms by default): per command (a script
     * by its first words) how many and their longest, in ms. A command over the threshold holds its master that long.
     */
    private static Map<String, String> slowCommands(StatefulRedisClusterConnection<String, String> redis) {
        Map<String, long[]> byCommand = new TreeMap<>();
        for (RedisClusterNode master : masters(redis)) {
            for (Object entry : redis.getConnection(master.getNodeId()).sync().slowlogGet(128)) {
                if (entry instanceof List<?> e && e.size() > 3 && e.get(3) instanceof List<?> args && !args.isEmpty()) {
                    String command = String.valueOf(args.getFirst()).toLowerCase(Locale.ROOT);
                    if (command.startsWith("eval") && args.size() > 1) {
                        command += " " + String.valueOf(args.get(1)).lines().findFirst().orElse("").strip();
                        command = command.substring(0, Math.min(command.length(), 60));
                    }
                    long micros = ((Number) e.get(2)).longValue();
                    long[] seen = byCommand.computeIfAbsent(command, c -> new long[2]);
                    seen[0]++;
                    seen[1] = Math.max(seen[1], micros);
                }
            }
        }
        Map<String, String> out = new LinkedHashMap<>();
        byCommand.forEach((command, seen) -> out.put(command, seen[0] + " (longest " + seen[1] / 1000 + " ms)"));
        return out;
    }

    /** Publishes a rule version on tally.rules (null: deletes the rule). */
    private static void publishRule(StackConfig stack, String tenant, String id, String json) throws Exception {
        try (KafkaProducer<String, String> rules = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()),
            new StringSerializer(), new StringSerializer())) {
            ProducerRecord<String, String> record = new ProducerRecord<>(Topics.RULES, RuleRecord.key(tenant, id), json);
            if (json == null) {
                record.headers().add(RuleRecord.DELETED_VERSION_HEADER, "1".getBytes());
            }
            rules.send(record).get();
        }
    }

    /**
     * Redis's own counters of one node: CPU seconds (user + system), the microseconds spent in EVALSHA, and in each command,
     * and how often each command ran.
     */
    record NodeStats(double cpuSeconds, long scriptMicros, Map<String, Long> commandMicros, Map<String, Long> commandCalls) {

        static NodeStats of(String cpu, String commands) {
            double used = 0;
            for (String line : cpu.split("\r?\n")) {
                if (line.startsWith("used_cpu_user:") || line.startsWith("used_cpu_sys:")) {
                    used += Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
                }
            }
            long micros = 0;
            Map<String, Long> byCommand = new HashMap<>();
            Map<String, Long> calls = new HashMap<>();
            for (String line : commands.split("\r?\n")) {
                if (line.startsWith("cmdstat_")) {
                    int at = line.indexOf("usec=");
                    long usec = Long.parseLong(line.substring(at + 5, line.indexOf(',', at)));
                    String command = line.substring("cmdstat_".length(), line.indexOf(':'));
                    byCommand.put(command, usec);
                    int callsAt = line.indexOf("calls=");
                    calls.put(command, Long.parseLong(line.substring(callsAt + 6, line.indexOf(',', callsAt))));
                    if (line.startsWith("cmdstat_evalsha:") || line.startsWith("cmdstat_eval:")) {
                        micros += usec;
                    }
                }
            }
            return new NodeStats(used, micros, byCommand, calls);
        }
    }

    static Map<String, NodeStats> nodeStats(StatefulRedisClusterConnection<String, String> redis) {
        Map<String, NodeStats> stats = new LinkedHashMap<>();
        for (RedisClusterNode node : redis.getPartitions().getPartitions()) {
            var sync = redis.getConnection(node.getNodeId()).sync();
            stats.put(node.getNodeId(), NodeStats.of(sync.info("cpu"), sync.info("commandstats")));
        }
        return stats;
    }

    private static double cpuSeconds(List<ServiceJar> jars) {
        return jars.stream().mapToDouble(j -> j.process().toHandle().info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(0.0)).sum();
    }

    /**
     * Times the group from its first commit past {@code from} until it committed {@code to} on every partition, and takes
     * the CPU the aggregation JVMs and the Redis nodes spent in between.
     */
    private static Map<String, Object> time(Admin admin, String group, Map<TopicPartition, Long> from, Map<TopicPartition, Long> to,
                                            List<ServiceJar> jars, StatefulRedisClusterConnection<String, String> redis,
                                            List<RedisClusterNode> masters, String what) {
        step("timing " + what + " ...");
        long[] began = {0};
        double[] jvmAtStart = {0};
        Map<String, NodeStats> redisAtStart = new HashMap<>();
        boolean done = Deadline.in(Duration.ofMinutes(20)).await(() -> {
            try {
                Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
                boolean moved = false;
                long behind = 0;
                for (Map.Entry<TopicPartition, Long> end : to.entrySet()) {
                    OffsetAndMetadata c = committed.get(end.getKey());
                    long at = c == null ? 0 : c.offset();
                    moved |= at > from.getOrDefault(end.getKey(), 0L);
                    behind += Math.max(0, end.getValue() - at);
                }
                if (moved && began[0] == 0) {
                    began[0] = TimeSource.SYSTEM.nanos();
                    jvmAtStart[0] = cpuSeconds(jars);
                    redisAtStart.putAll(nodeStats(redis));
                }
                return began[0] != 0 && behind == 0;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofMillis(20));
        if (!done) {
            throw new IllegalStateException(what + " did not catch up in 20 minutes");
        }
        double seconds = (TimeSource.SYSTEM.nanos() - began[0]) / 1e9;
        double jvm = cpuSeconds(jars) - jvmAtStart[0];
        Map<String, NodeStats> redisAtEnd = nodeStats(redis);
        double redisCpu = 0;
        long scripts = 0;
        for (var e : redisAtEnd.entrySet()) {
            NodeStats s = redisAtStart.get(e.getKey());
            redisCpu += e.getValue().cpuSeconds() - (s == null ? 0 : s.cpuSeconds());
        }
        List<Map<String, Object>> perMaster = new ArrayList<>();
        for (RedisClusterNode master : masters) {
            NodeStats s = redisAtStart.get(master.getNodeId());
            NodeStats e = redisAtEnd.get(master.getNodeId());
            scripts += e.scriptMicros() - (s == null ? 0 : s.scriptMicros());
        }
        for (RedisClusterNode master : masters) {
            NodeStats s = redisAtStart.get(master.getNodeId());
            NodeStats e = redisAtEnd.get(master.getNodeId());
            long micros = e.scriptMicros() - (s == null ? 0 : s.scriptMicros());
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("master", master.getUri().getPort());
            m.put("cpuPercent", round2(100 * (e.cpuSeconds() - (s == null ? 0 : s.cpuSeconds())) / seconds));
            m.put("scriptShare", round2(scripts == 0 ? 0 : (double) micros / scripts));
            perMaster.add(m);
        }
        long events = to.values().stream().mapToLong(Long::longValue).sum() - from.values().stream().mapToLong(Long::longValue).sum();
        Map<String, Object> measured = new LinkedHashMap<>();
        measured.put("seconds", seconds);
        measured.put("aggregationCpuSecondsPerMillionEvents", round2(jvm / events * 1e6));
        measured.put("redisCpuSecondsPerMillionEvents", round2(redisCpu / events * 1e6));
        measured.put("masters", perMaster);
        measured.put("redisCommandSecondsPerMillionEvents", commandSecondsPerMillion(redisAtStart, redisAtEnd, events));
        measured.put("redisCommandCallsPerEvent", perEvent(redisAtStart, redisAtEnd, NodeStats::commandCalls, events));
        return measured;
    }

    /**
     * Where Redis spent its command time between two readings of every node (replicas' replicated writes included; a
     * script's time includes the commands it calls, which are also counted on their own), seconds per million events,
     * the eight busiest commands first.
     */
    static Map<String, Object> commandSecondsPerMillion(Map<String, NodeStats> before, Map<String, NodeStats> after, long events) {
        return perEvent(before, after, NodeStats::commandMicros, events);
    }

    /**
     * A counter of each command (all nodes, between two readings) per event, the eight largest first (microseconds per
     * event are seconds per million events).
     */
    static Map<String, Object> perEvent(Map<String, NodeStats> before, Map<String, NodeStats> after,
                                        Function<NodeStats, Map<String, Long>> counter, long events) {
        Map<String, Long> totals = new HashMap<>();
        after.forEach((node, end) -> {
            NodeStats start = before.get(node);
            counter.apply(end).forEach((command, n) -> totals.merge(command,
                n - (start == null ? 0 : counter.apply(start).getOrDefault(command, 0L)), Long::sum));
        });
        Map<String, Object> byCommand = new LinkedHashMap<>();
        totals.entrySet().stream().filter(c -> c.getValue() > 0).sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(8)
            .forEach(c -> byCommand.put(c.getKey(), round2((double) c.getValue() / events)));
        return byCommand;
    }

    /**
     * Compares the hot rule's results, read and assembled as the query service reads them (every shard, merged), with
     * the truth: each group's count, rate, sum, average and maximum.
     */
    private static String check(RedisClusterClient client, String tenant, String ruleId, int shards, Map<Long, Map<String, double[]>> truth) {
        RuleSpec spec = RuleSpec.of(new RuleRecord(tenant, ruleId, 1, null, null, List.of("category"), List.of(
            new RuleRecord.Aggregation("events", "count", null, null), new RuleRecord.Aggregation("perSec", "rate", null, null),
            new RuleRecord.Aggregation("revenue", "sum", "value", null), new RuleRecord.Aggregation("mean", "avg", "value", null),
            new RuleRecord.Aggregation("top", "max", "value", null)),
            new RuleRecord.Window("PT1M", null), "PT10S", "PT2H", shards));
        // Group keys are ["category"]: categories of the workload are plain words.
        ResultAssembler assembler = new ResultAssembler(key -> List.of(key.substring(2, key.length() - 2)), json -> json);
        try (var connection = client.connect()) {
            StateReader reader = new StateReader(() -> connection, RuleState.Budget.NONE);
            List<Long> starts = new ArrayList<>(truth.keySet());
            StateReader.Snapshot read = reader.read(spec, starts);
            if (read.lateEvents() != 0) {
                return "WRONG (" + read.lateEvents() + " late events)";
            }
            Map<Long, RawWindow> windows = new HashMap<>();
            read.windows().forEach(w -> windows.put(w.start(), w));
            for (var w : truth.entrySet()) {
                RawWindow stored = windows.get(w.getKey());
                Map<String, Map<String, Object>> groups = new HashMap<>();
                if (stored != null) {
                    assembler.groups(spec, stored, Map.of()).forEach(g -> groups.put((String) g.group().get("category"), g.values()));
                }
                for (var g : w.getValue().entrySet()) {
                    long events = (long) g.getValue()[0];
                    double revenue = g.getValue()[1];
                    Map<String, Object> values = groups.get(g.getKey());
                    if (values == null || ((Number) values.get("events")).longValue() != events
                        || !near((Double) values.get("perSec"), events / 60.0) || !near((Double) values.get("revenue"), revenue)
                        || !near((Double) values.get("mean"), revenue / events) || values.get("top") == null) {
                        return "WRONG (" + w.getKey() + " " + g.getKey() + ": " + values + " != " + events + " events, revenue " + revenue + ")";
                    }
                }
            }
            return "EXACT";
        }
    }

    /** Whether a stored double equals the truth up to the rounding of adding in another order. */
    private static boolean near(Double stored, double truth) {
        return stored != null && Math.abs(stored - truth) <= 1e-6 * Math.max(1, Math.abs(truth));
    }
}
