package io.tally.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClusterFailoverOptionsTest {

    private static final RedisClientSettings SETTINGS = new RedisClientSettings(Duration.ofMillis(250), Duration.ofSeconds(1), Duration.ofSeconds(5));

    @Test
    void refreshesTheTopologyOnEveryTriggerAndPeriodically() {
        ClusterTopologyRefreshOptions refresh = ClusterFailoverOptions.of(SETTINGS).getTopologyRefreshOptions();
        assertTrue(refresh.isPeriodicRefreshEnabled());
        assertEquals(Duration.ofSeconds(5), refresh.getRefreshPeriod());
        assertEquals(Set.of(ClusterTopologyRefreshOptions.RefreshTrigger.values()), refresh.getAdaptiveRefreshTriggers());
        assertTrue(refresh.isCloseStaleConnections());
    }

    @Test
    void boundsEveryCommandAndRefusesCommandsForADisconnectedNode() {
        ClusterClientOptions options = ClusterFailoverOptions.of(SETTINGS);
        assertTrue(options.getTimeoutOptions().isTimeoutCommands());
        assertEquals(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS, options.getDisconnectedBehavior());
        assertEquals(Duration.ofSeconds(1), options.getSocketOptions().getConnectTimeout());
    }

    @Test
    void leavesFailedNodesOutOfTheTopology() {
        RedisClusterNode healthy = new RedisClusterNode();
        healthy.setFlags(Set.of(RedisClusterNode.NodeFlag.MASTER));
        RedisClusterNode failed = new RedisClusterNode();
        failed.setFlags(Set.of(RedisClusterNode.NodeFlag.MASTER, RedisClusterNode.NodeFlag.FAIL));
        RedisClusterNode suspected = new RedisClusterNode();
        suspected.setFlags(Set.of(RedisClusterNode.NodeFlag.REPLICA, RedisClusterNode.NodeFlag.EVENTUAL_FAIL));
        assertTrue(ClusterFailoverOptions.usable(healthy));
        assertFalse(ClusterFailoverOptions.usable(failed));
        assertFalse(ClusterFailoverOptions.usable(suspected));
    }

    @Test
    void refusesAZeroOrNegativeTimeout() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new RedisClientSettings(Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(5)));
        assertTrue(e.getMessage().contains("tally.redis.command-timeout"), e.getMessage());
    }
}
