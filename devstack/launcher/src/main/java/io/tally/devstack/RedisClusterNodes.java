package io.tally.devstack;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * A Redis Cluster of three masters and three replicas, one process per node. The first start forms
 * the cluster (slots, meet, replicate); later starts reuse each node's {@code nodes.conf} and the
 * snapshot written by {@link #stop()}.
 */
public final class RedisClusterNodes implements Component {

    private static final String BINARY_RESOURCE = "/redis-server-6.2.6-v5-linux-amd64";
    private static final int MASTERS = 3;
    private static final int SLOTS = 16384;

    private final StackConfig config;
    private final List<TrackedProcess> nodes;

    public RedisClusterNodes(StackConfig config) {
        this.config = config;
        this.nodes = IntStream.rangeClosed(1, StackConfig.REDIS_NODES)
            .mapToObj(i -> new TrackedProcess(config, "redis-" + i)).toList();
    }

    @Override
    public String name() {
        return "redis";
    }

    @Override
    public List<TrackedProcess> processes() {
        return nodes;
    }

    @Override
    public String address() {
        return config.redisUris();
    }

    @Override
    public void prepare() {
        redisServerBinary();
    }

    @Override
    public void checkPorts() {
        List<Integer> ports = config.redisPorts();
        for (int i = 0; i < nodes.size(); i++) {
            if (!nodes.get(i).isAlive()) {
                Ports.requireFree("Redis node " + (i + 1), "TALLY_REDIS_BASE_PORT", ports.get(i), ports.get(i) + 10000);
            }
        }
    }

    @Override
    public void start() {
        Path binary = redisServerBinary();
        List<Integer> ports = config.redisPorts();
        for (int i = 0; i < nodes.size(); i++) {
            TrackedProcess node = nodes.get(i);
            if (node.isAlive()) {
                continue;
            }
            int port = ports.get(i);
            Ports.requireFree("Redis node " + (i + 1), "TALLY_REDIS_BASE_PORT", port, port + 10000);
            Path dir = config.dataDir().resolve("redis-" + (i + 1));
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new StackException("cannot create " + dir + ": " + e.getMessage(), e);
            }
            node.start(List.of(binary.toString(),
                "--port", Integer.toString(port),
                "--bind", "127.0.0.1",
                "--protected-mode", "no",
                "--daemonize", "no",
                "--dir", dir.toString(),
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "5000",
                "--cluster-announce-ip", "127.0.0.1",
                // No periodic persistence (speed); `down` saves a snapshot explicitly.
                "--save", "",
                "--appendonly", "no",
                // Replicas otherwise wait ~5 s before their first sync.
                "--repl-diskless-sync", "yes",
                "--repl-diskless-sync-delay", "0",
                "--maxmemory-policy", "noeviction",
                // Redis 7's default (6.2's is 512): a window hash is a ziplist, searched end to end by every HINCRBY, until
                // it holds this many fields; at 512 that search was a sixth of Redis's CPU under load.
                "--hash-max-ziplist-entries", "128",
                "--loglevel", "notice"), Map.of(), dir);
        }
    }

    /** The Redis 6.2 server shipped inside the embedded-redis jar, extracted once. */
    Path redisServerBinary() {
        String override = config.env().get("TALLY_REDIS_SERVER");
        if (override != null && !override.isBlank()) {
            return Path.of(override);
        }
        Path target = config.binDir().resolve("redis-server-6.2.6");
        if (Files.isExecutable(target)) {
            return target;
        }
        try (InputStream in = RedisClusterNodes.class.getResourceAsStream(BINARY_RESOURCE)) {
            if (in == null) {
                throw new StackException("the Redis server binary is missing from the launcher's classpath (embedded-redis)");
            }
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempFile(target.getParent(), "redis-server", ".tmp");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            tmp.toFile().setExecutable(true);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } catch (IOException e) {
            throw new StackException("cannot extract the Redis server binary to " + target + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean isReady() {
        if (!allRunning()) {
            return false;
        }
        RedisClient client = RedisClient.create();
        try {
            for (int port : config.redisPorts()) {
                try (StatefulRedisConnection<String, String> c = connect(client, port)) {
                    if (!clusterOk(c.sync())) {
                        return false;
                    }
                }
            }
            return true;
        } catch (Exception e) {
            return false;
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    @Override
    public void awaitReady(Deadline deadline) {
        List<Integer> ports = config.redisPorts();
        boolean answering = deadline.await(() -> {
            for (TrackedProcess node : nodes) {
                if (!node.isAlive()) {
                    throw new StackException(node.name() + " exited during start-up; the end of " + node.logFile() + ":\n" + node.logTail(15));
                }
            }
            return ports.stream().allMatch(Ports::inUse);
        }, Duration.ofMillis(100));
        if (!answering) {
            throw new StackException("the Redis nodes did not open their ports in time; see " + config.logDir() + "/redis-*.log");
        }
        RedisClient client = RedisClient.create();
        try {
            List<StatefulRedisConnection<String, String>> connections = new ArrayList<>();
            try {
                for (int port : ports) {
                    connections.add(connect(client, port));
                }
                List<RedisCommands<String, String>> sync = connections.stream().map(StatefulRedisConnection::sync).toList();
                if (needsForming(sync)) {
                    form(sync, ports, deadline);
                }
                // Ready when every node says ok and every node's view has settled the roles (gossip spreads a
                // REPLICATE to the other nodes a little later than the replica itself reports ok).
                boolean ok = deadline.await(() -> sync.stream().allMatch(s -> clusterOk(s) && rolesSettled(s, ports.size())), Duration.ofMillis(100));
                if (!ok) {
                    throw new StackException("the Redis Cluster did not reach cluster_state:ok in time; see " + config.logDir() + "/redis-*.log");
                }
            } finally {
                connections.forEach(StatefulRedisConnection::close);
            }
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    /** A node that knows only itself and serves no slot has never been part of the cluster. */
    private static boolean needsForming(List<RedisCommands<String, String>> sync) {
        String info = sync.getFirst().clusterInfo();
        return info.contains("cluster_known_nodes:1\r") || info.contains("cluster_slots_assigned:0\r");
    }

    private static void form(List<RedisCommands<String, String>> sync, List<Integer> ports, Deadline deadline) {
        int perMaster = SLOTS / MASTERS;
        for (int m = 0; m < MASTERS; m++) {
            int from = m * perMaster;
            int to = m == MASTERS - 1 ? SLOTS - 1 : from + perMaster - 1;
            sync.get(m).clusterAddSlots(IntStream.rangeClosed(from, to).toArray());
        }
        for (int i = 1; i < ports.size(); i++) {
            sync.getFirst().clusterMeet("127.0.0.1", ports.get(i));
        }
        boolean met = deadline.await(() -> sync.stream().allMatch(s -> s.clusterInfo().contains("cluster_known_nodes:" + ports.size() + "\r")),
            Duration.ofMillis(100));
        if (!met) {
            throw new StackException("the Redis nodes did not meet each other in time");
        }
        for (int r = MASTERS; r < ports.size(); r++) {
            String masterId = sync.get(r - MASTERS).clusterMyId();
            RedisCommands<String, String> replica = sync.get(r);
            // A replica may not have learned of its master through gossip yet: retry until it has.
            boolean replicated = deadline.await(() -> {
                try {
                    return "OK".equals(replica.clusterReplicate(masterId));
                } catch (Exception e) {
                    return false;
                }
            }, Duration.ofMillis(100));
            if (!replicated) {
                throw new StackException("a Redis replica could not attach to its master in time");
            }
        }
    }

    private static boolean rolesSettled(RedisCommands<String, String> sync, int nodes) {
        try {
            int masters = 0;
            int replicas = 0;
            for (String line : sync.clusterNodes().split("\n")) {
                String[] parts = line.trim().split(" ");
                if (parts.length < 3) {
                    continue;
                }
                if (parts[2].contains("slave")) {
                    replicas++;
                } else if (parts[2].contains("master")) {
                    masters++;
                }
            }
            return masters == MASTERS && replicas == nodes - MASTERS;
        } catch (Exception e) {
            return false;
        }
    }

    private static boolean clusterOk(RedisCommands<String, String> sync) {
        try {
            return sync.clusterInfo().contains("cluster_state:ok");
        } catch (Exception e) {
            return false;
        }
    }

    private static StatefulRedisConnection<String, String> connect(RedisClient client, int port) {
        RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(port).withTimeout(Duration.ofSeconds(5)).build();
        return client.connect(uri);
    }

    @Override
    public void stop() {
        // SHUTDOWN SAVE keeps the aggregates across `down`/`up`; a node that does not answer is killed.
        RedisClient client = RedisClient.create();
        try {
            List<Integer> ports = config.redisPorts();
            for (int i = 0; i < nodes.size(); i++) {
                TrackedProcess node = nodes.get(i);
                if (!node.isAlive()) {
                    node.forget();
                    continue;
                }
                try (StatefulRedisConnection<String, String> c = connect(client, ports.get(i))) {
                    c.sync().shutdown(true);
                } catch (Exception expectedAsTheServerCloses) {
                    // the connection drops when the node exits
                }
                node.stop("TERM", Duration.ofSeconds(10));
            }
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }
}
