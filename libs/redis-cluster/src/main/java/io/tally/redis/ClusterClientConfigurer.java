package io.tally.redis;

import io.lettuce.core.cluster.RedisClusterClient;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/** Gives every Redis Cluster client of the service {@link ClusterFailoverOptions} before anything connects. */
@Singleton
public class ClusterClientConfigurer implements BeanCreatedEventListener<RedisClusterClient> {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterClientConfigurer.class);

    private final RedisClientSettings settings;

    public ClusterClientConfigurer(@Value("${tally.redis.command-timeout:1s}") Duration commandTimeout,
                                   @Value("${tally.redis.connect-timeout:1s}") Duration connectTimeout,
                                   @Value("${tally.redis.topology-refresh:5s}") Duration topologyRefresh) {
        this.settings = new RedisClientSettings(commandTimeout, connectTimeout, topologyRefresh);
    }

    @Override
    public RedisClusterClient onCreated(BeanCreatedEvent<RedisClusterClient> event) {
        RedisClusterClient client = event.getBean();
        client.setOptions(ClusterFailoverOptions.of(settings));
        client.setDefaultTimeout(settings.commandTimeout());
        LOG.info("Redis Cluster client: command timeout {} ms, topology refreshed every {} ms and on redirects and reconnects",
            settings.commandTimeout().toMillis(), settings.topologyRefresh().toMillis());
        return client;
    }

    public RedisClientSettings settings() {
        return settings;
    }
}
