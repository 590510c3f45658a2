package io.tally.devstack;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StackConfigTest {

    @Test
    void defaultsToPortsAwayFromTheUsualOnes() {
        StackConfig config = StackConfig.fromEnvironment(Path.of("/repo"), Map.of());
        assertEquals("127.0.0.1:19092", config.kafkaBootstrap());
        assertEquals(19093, config.kafkaControllerPort());
        assertEquals(List.of(17001, 17002, 17003, 17004, 17005, 17006), config.redisPorts());
        assertEquals("jdbc:postgresql://127.0.0.1:15432/tally", config.jdbcUrl());
        assertEquals(Path.of("/repo/.tally"), config.stateDir());
    }

    @Test
    void environmentMovesEveryPortAndTheStateFolder() {
        StackConfig config = StackConfig.fromEnvironment(Path.of("/repo"), Map.of(
            "TALLY_KAFKA_PORT", "29092", "TALLY_REDIS_BASE_PORT", "27001", "TALLY_POSTGRES_PORT", "25432",
            "TALLY_STATE_DIR", "/tmp/elsewhere"));
        assertEquals("127.0.0.1:29092", config.kafkaBootstrap());
        assertTrue(config.redisUris().startsWith("redis://127.0.0.1:27001,redis://127.0.0.1:27002"));
        assertEquals("jdbc:postgresql://127.0.0.1:25432/tally", config.jdbcUrl());
        assertEquals(Path.of("/tmp/elsewhere/logs"), config.logDir());
    }

    @Test
    void namesTheVariableOfAnInvalidPort() {
        StackException e = assertThrows(StackException.class,
            () -> StackConfig.fromEnvironment(Path.of("."), Map.of("TALLY_POSTGRES_PORT", "70000")));
        assertTrue(e.getMessage().contains("TALLY_POSTGRES_PORT"), e.getMessage());
    }

    @Test
    void servicePortsFollowTheirVariables() {
        StackConfig config = StackConfig.fromEnvironment(Path.of("."), Map.of("TALLY_GATEWAY_PORT", "9090"));
        ServiceSpec gateway = ServiceSpec.ALL.stream().filter(s -> s.name().equals("api-gateway")).findFirst().orElseThrow();
        assertEquals("http://127.0.0.1:9090", gateway.url(config));
        assertEquals("TALLY_GATEWAY_URL", gateway.urlVariable());
    }

    @Test
    void kafkaClusterIdIsTwentyTwoUrlSafeCharacters() {
        String id = Uuids.kafkaClusterId(UUID.fromString("00000000-0000-0000-0000-000000000001"));
        assertEquals(22, id.length());
        assertEquals("AAAAAAAAAAAAAAAAAAAAAQ", id);
        for (int i = 0; i < 1000; i++) {
            assertTrue(Uuids.newKafkaClusterId().charAt(0) != '-', "an id starting with '-' reads as an option");
        }
    }
}
