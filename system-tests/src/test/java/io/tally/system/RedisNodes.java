package io.tally.system;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.SlotHash;
import io.tally.devstack.Deadline;
import io.tally.devstack.RedisClusterNodes;
import io.tally.devstack.StackConfig;
import io.tally.devstack.TrackedProcess;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The test stack's Redis Cluster nodes as an operator sees them: who is master of what, kill, fail over, restart. */
final class RedisNodes implements AutoCloseable {

    /** One line of CLUSTER NODES. */
    record Node(String id, int port, boolean master, String masterId, List<int[]> slots) {

        boolean serves(int slot) {
            return slots.stream().anyMatch(r -> slot >= r[0] && slot <= r[1]);
        }
    }

    private final StackConfig stack;
    private final RedisClient client = RedisClient.create();

    RedisNodes(StackConfig stack) {
        this.stack = stack;
    }

    /** The cluster as the first live node sees it. */
    List<Node> nodes() {
        for (int port : stack.redisPorts()) {
            try (StatefulRedisConnection<String, String> c = connect(port)) {
                return parse(c.sync().clusterNodes());
            } catch (RuntimeException e) {
                // that node is down: ask the next
            }
        }
        throw new IllegalStateException("no Redis node answers");
    }

    /** The master serving the slot of {@code key}. */
    Node masterOf(String key) {
        int slot = SlotHash.getSlot(key);
        return nodes().stream().filter(n -> n.master() && n.serves(slot)).findFirst()
            .orElseThrow(() -> new IllegalStateException("no master serves slot " + slot));
    }

    Optional<Node> replicaOf(Node master) {
        return nodes().stream().filter(n -> master.id().equals(n.masterId())).findFirst();
    }

    /** SIGKILL, as a crashed host would. */
    void kill(Node node) {
        process(node).stop("KILL", Duration.ofSeconds(5));
    }

    /** Starts the nodes that are not running (they rejoin from their nodes.conf) and waits until roles settled. */
    void restartDead() {
        RedisClusterNodes cluster = new RedisClusterNodes(stack);
        cluster.start();
        cluster.awaitReady(Deadline.in(Duration.ofSeconds(90)));
    }

    /** Writes a snapshot of the node's data (SAVE): what it comes back with when it restarts (no other persistence here). */
    void save(Node node) {
        try (StatefulRedisConnection<String, String> c = connect(node.port())) {
            c.sync().save();
        }
    }

    /** Deletes the keys matching {@code pattern} on every master (SCAN, then DEL): data lost the way an operator may lose it. */
    long deleteMatching(String pattern) {
        long deleted = 0;
        for (Node node : nodes()) {
            if (!node.master()) {
                continue;
            }
            try (StatefulRedisConnection<String, String> c = connect(node.port())) {
                io.lettuce.core.ScanCursor cursor = io.lettuce.core.ScanCursor.INITIAL;
                do {
                    io.lettuce.core.KeyScanCursor<String> page = c.sync().scan(cursor, io.lettuce.core.ScanArgs.Builder.matches(pattern).limit(1_000));
                    if (!page.getKeys().isEmpty()) {
                        deleted += c.sync().del(page.getKeys().toArray(String[]::new));
                    }
                    cursor = page;
                } while (!cursor.isFinished());
            }
        }
        return deleted;
    }

    /** Asks a replica to take over from its master (CLUSTER FAILOVER: coordinated, no write lost). */
    void failover(Node replica) {
        try (StatefulRedisConnection<String, String> c = connect(replica.port())) {
            c.sync().clusterFailover(false);
        }
    }

    /** Whether {@code node} reports itself master and the cluster ok. */
    boolean isMasterAndOk(Node node) {
        try (StatefulRedisConnection<String, String> c = connect(node.port())) {
            String info = c.sync().clusterInfo();
            return info.contains("cluster_state:ok") && c.sync().clusterNodes().lines()
                .anyMatch(l -> l.contains("myself") && l.contains("master"));
        } catch (RuntimeException e) {
            return false;
        }
    }

    private TrackedProcess process(Node node) {
        int index = stack.redisPorts().indexOf(node.port());
        return new TrackedProcess(stack, "redis-" + (index + 1));
    }

    private StatefulRedisConnection<String, String> connect(int port) {
        return client.connect(RedisURI.builder().withHost("127.0.0.1").withPort(port).withTimeout(Duration.ofSeconds(2)).build());
    }

    static List<Node> parse(String clusterNodes) {
        List<Node> nodes = new ArrayList<>();
        for (String line : clusterNodes.split("\n")) {
            String[] parts = line.trim().split(" ");
            if (parts.length < 8 || parts[2].contains("fail")) {
                continue;
            }
            int port = Integer.parseInt(parts[1].substring(parts[1].indexOf(':') + 1, parts[1].indexOf('@')));
            List<int[]> slots = new ArrayList<>();
            for (int i = 8; i < parts.length; i++) {
                if (parts[i].startsWith("[")) {
                    continue;
                }
                String[] range = parts[i].split("-");
                int from = Integer.parseInt(range[0]);
                slots.add(new int[] {from, range.length > 1 ? Integer.parseInt(range[1]) : from});
            }
            nodes.add(new Node(parts[0], port, parts[2].contains("master"), "-".equals(parts[3]) ? null : parts[3], slots));
        }
        return nodes;
    }

    @Override
    public void close() {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
}
