package io.tally.testinfra;

import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.tally.devstack.StackConfig;
import io.tally.model.TopicSpec;
import io.tally.model.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The infrastructure the tests get is the real thing, laid out as production expects. */
class TestStackTest {

    private final StackConfig stack = TestStack.infrastructure();

    @Test
    void kafkaHasEveryTallyTopicWithItsLayout() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap()))) {
            List<String> names = Topics.all().stream().map(TopicSpec::name).toList();
            Map<String, TopicDescription> described = admin.describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS);
            for (TopicSpec spec : Topics.all()) {
                assertEquals(spec.partitions(), described.get(spec.name()).partitions().size(), spec.name());
            }
            var rules = new ConfigResource(ConfigResource.Type.TOPIC, Topics.RULES);
            var config = admin.describeConfigs(List.of(rules)).all().get(30, TimeUnit.SECONDS).get(rules);
            assertEquals("compact", config.get("cleanup.policy").value());
        }
    }

    @Test
    void redisIsAClusterOfThreeMastersWithOneReplicaEach() {
        RedisClusterClient client = RedisClusterClient.create(List.of(stack.redisUris().split(",")).stream()
            .map(io.lettuce.core.RedisURI::create).toList());
        try (var connection = client.connect()) {
            var partitions = connection.getPartitions();
            List<RedisClusterNode> masters = partitions.stream().filter(n -> n.is(RedisClusterNode.NodeFlag.UPSTREAM)).toList();
            List<RedisClusterNode> replicas = partitions.stream().filter(n -> n.is(RedisClusterNode.NodeFlag.REPLICA)).toList();
            assertEquals(3, masters.size(), partitions.toString());
            assertEquals(3, replicas.size(), partitions.toString());
            assertEquals(16384, masters.stream().mapToInt(n -> n.getSlots().size()).sum());
            connection.sync().set("tally:test:key", "1");
            assertEquals("1", connection.sync().get("tally:test:key"));
        } finally {
            client.shutdown();
        }
    }

    @Test
    void postgresServesTheTallyDatabase() throws Exception {
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), StackConfig.DB_USER, StackConfig.DB_PASSWORD);
             ResultSet rs = c.createStatement().executeQuery("SELECT current_database(), current_setting('server_version_num')::int")) {
            assertTrue(rs.next());
            assertEquals("tally", rs.getString(1));
            assertTrue(rs.getInt(2) >= 170000, "PostgreSQL 17 expected");
        }
    }
}
