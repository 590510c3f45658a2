package io.tally.devstack;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReplayTest {

    private static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");

    @Test
    void fromIsAnInstantOrHowLongAgo() {
        assertEquals(Instant.parse("2026-12-07T10:00:00Z"), Replay.from("2026-12-07T10:00:00Z", NOW));
        assertEquals(Instant.parse("2026-12-07T06:00:00Z"), Replay.from("PT6H", NOW));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Replay.from("yesterday", NOW));
        assertTrue(e.getMessage().contains("PT6H"), e.getMessage());
    }

    @Test
    void missingOrBadOptionsSayHowToCallIt() {
        for (String[] args : new String[][] {{"replay"}, {"replay", "--tenant", "acme"}, {"replay", "--tenant", "acme", "--from", "soon"},
            {"replay", "--tenant", "acme", "--from"}, {"replay", "--colour", "red"}}) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = Main.run(args, Map.of(), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(2, code, String.join(" ", args));
            String said = err.toString(StandardCharsets.UTF_8);
            assertTrue(said.contains("tally replay") || said.contains("usage: ./tally replay"), said);
        }
    }
}
