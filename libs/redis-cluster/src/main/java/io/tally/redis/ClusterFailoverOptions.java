package io.tally.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;

import java.time.Duration;

/**
 * Lettuce cluster options under which a Redis failover costs a short error, not a hang. Lettuce's
 * defaults keep the topology it saw at connect time and queue commands for a dead node until it comes
 * back, each waiting up to a minute: after a master was killed, every command for its slots hung until
 * then, long after the cluster had promoted the replica. Here:
 * <ul>
 *   <li>the topology is refreshed on every trigger Lettuce knows (MOVED/ASK redirects, reconnect attempts,
 *       unknown nodes, uncovered slots) and periodically, so a promoted replica is used within seconds;</li>
 *   <li>nodes the cluster marked failed are left out of the topology;</li>
 *   <li>a command for a node that is disconnected fails at once instead of waiting for a reconnect;</li>
 *   <li>every command has a timeout, sized per service by its caller ({@link RedisClientSettings}).</li>
 * </ul>
 */
public final class ClusterFailoverOptions {

    private ClusterFailoverOptions() {
    }

    /** The options for {@code settings}. */
    public static ClusterClientOptions of(RedisClientSettings settings) {
        ClusterTopologyRefreshOptions refresh = ClusterTopologyRefreshOptions.builder()
            .enablePeriodicRefresh(settings.topologyRefresh())
            .enableAllAdaptiveRefreshTriggers()
            // Adaptive refreshes are rate limited to one per this interval.
            .adaptiveRefreshTriggersTimeout(Duration.ofMillis(500))
            .refreshTriggersReconnectAttempts(2)
            .dynamicRefreshSources(true)
            .closeStaleConnections(true)
            .build();
        return ClusterClientOptions.builder()
            .topologyRefreshOptions(refresh)
            .nodeFilter(ClusterFailoverOptions::usable)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .autoReconnect(true)
            .timeoutOptions(TimeoutOptions.enabled(settings.commandTimeout()))
            .socketOptions(SocketOptions.builder().connectTimeout(settings.connectTimeout()).keepAlive(true).build())
            .build();
    }

    /** A node the cluster has not marked failed (or suspected failed, or without an address). */
    static boolean usable(RedisClusterNode node) {
        return !(node.is(RedisClusterNode.NodeFlag.FAIL) || node.is(RedisClusterNode.NodeFlag.EVENTUAL_FAIL)
            || node.is(RedisClusterNode.NodeFlag.NOADDR));
    }
}
