package io.tally.rules.config;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DatabaseCredentialsTest {

    @Test
    void theDefaultPasswordOnlyOnLoopback() {
        assertDoesNotThrow(() -> DatabaseCredentials.check("127.0.0.1", "postgres"));
        assertThrows(IllegalStateException.class, () -> DatabaseCredentials.check("0.0.0.0", "postgres"));
        assertThrows(IllegalStateException.class, () -> DatabaseCredentials.check("10.1.2.3", ""));
        assertDoesNotThrow(() -> DatabaseCredentials.check("0.0.0.0", "a-real-password"));
    }
}
