package io.tally.gateway.auth;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SigningKeysTest {

    private static final String DEV = "tally-local-development-secret-0123456789";
    private static final String REAL = "a-real-secret-of-more-than-thirty-two-bytes";

    @Test
    void theDevelopmentSecretOnlyOnLoopbackWithNothingElseSet() {
        assertEquals(new SigningKeys.Choice(DEV, true), SigningKeys.choose("", "", "127.0.0.1", DEV));
        assertEquals(new SigningKeys.Choice(DEV, true), SigningKeys.choose(null, null, "localhost", DEV));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SigningKeys.choose("", "", "0.0.0.0", DEV));
        assertTrue(e.getMessage().contains("TALLY_JWT_SECRET"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> SigningKeys.choose(DEV, "", "10.0.0.5", DEV), "the published secret set explicitly");
    }

    @Test
    void aRealSecretRunsAnywhere() {
        assertEquals(new SigningKeys.Choice(REAL, false), SigningKeys.choose(REAL, "", "0.0.0.0", DEV));
    }

    @Test
    void aJwksAloneTurnsHs256Off() {
        assertEquals(new SigningKeys.Choice(null, false), SigningKeys.choose("", "https://idp.example/jwks.json", "0.0.0.0", DEV));
    }

    @Test
    void aJwksUrlMustBeHttpsUnlessOnLoopback() {
        assertThrows(IllegalStateException.class, () -> SigningKeys.choose(REAL, "http://idp.example/jwks.json", "0.0.0.0", DEV));
        assertEquals(new SigningKeys.Choice(REAL, false), SigningKeys.choose(REAL, "http://127.0.0.1:9000/jwks.json", "0.0.0.0", DEV));
    }

    @Test
    void knowsLoopbackAddresses() {
        assertTrue(SigningKeys.isLoopback("127.0.0.1"));
        assertTrue(SigningKeys.isLoopback("::1"));
        assertTrue(SigningKeys.isLoopback("[::1]"));
        assertFalse(SigningKeys.isLoopback("0.0.0.0"));
        assertFalse(SigningKeys.isLoopback("example.com"));
    }
}
