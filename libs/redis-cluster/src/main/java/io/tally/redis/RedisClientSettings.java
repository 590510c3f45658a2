package io.tally.redis;

import java.time.Duration;

/**
 * How a service's Redis Cluster client rides out failovers ({@code tally.redis.*}). The command timeout is
 * the longest a single command may take on this service's path: a request path wants hundreds of
 * milliseconds (a failover then shows as a short error the caller handles), the aggregation's large
 * scripts want seconds. Each service sets its own default in its {@code application.yml}.
 *
 * @param commandTimeout  {@code TALLY_REDIS_COMMAND_TIMEOUT}: the longest one command may take
 * @param connectTimeout  {@code TALLY_REDIS_CONNECT_TIMEOUT} (default 1s): the longest a connection attempt may take
 * @param topologyRefresh {@code TALLY_REDIS_TOPOLOGY_REFRESH} (default 5s): how often the cluster's topology is
 *                        read even without a trigger (redirects and reconnects trigger it at once)
 */
public record RedisClientSettings(Duration commandTimeout, Duration connectTimeout, Duration topologyRefresh) {

    public RedisClientSettings {
        require("tally.redis.command-timeout", commandTimeout);
        require("tally.redis.connect-timeout", connectTimeout);
        require("tally.redis.topology-refresh", topologyRefresh);
    }

    private static void require(String name, Duration value) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + " must be a positive duration, got " + value);
        }
    }
}
