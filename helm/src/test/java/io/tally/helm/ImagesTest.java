package io.tally.helm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The image tarballs of {@code ./mvnw -B -Pimages verify} (the profile turns this on): each exists, runs as the non-root
 * user, starts its service's main class with container-aware JVM flags, and declares the port the chart uses. Read
 * from the OCI layout inside the tar (index, manifest, config).
 */
class ImagesTest {

    private static final Map<String, String> MAIN = Map.of(
        "api-gateway", "io.tally.gateway.Application",
        "ingestion-service", "io.tally.ingestion.Application",
        "aggregation-service", "io.tally.aggregation.Application",
        "query-service", "io.tally.query.Application",
        "subscription-service", "io.tally.subscription.Application",
        "rules-service", "io.tally.rules.Application");
    private static final Map<String, Integer> PORT = Map.of("api-gateway", 8080, "ingestion-service", 18081, "rules-service", 18082,
        "aggregation-service", 18083, "query-service", 18084, "subscription-service", 18085);
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyServiceHasAnImageThatRunsAsNonRootWithItsEntrypointAndPort() throws IOException {
        Assumptions.assumeTrue(Boolean.getBoolean("tally.images.check"), "the images are checked by ./mvnw -B -Pimages verify");
        for (String module : MAIN.keySet()) {
            Path tar = Path.of("..", module, "target", module + "-image.tar");
            assertTrue(Files.isRegularFile(tar), tar + " was not built");
            Map<String, byte[]> entries = entries(tar, List.of("index.json"));
            JsonNode index = JSON.readTree(entries.get("index.json"));
            assertEquals("tally/tally-" + module + ":0.1.0-SNAPSHOT",
                index.path("manifests").get(0).path("annotations").path("org.opencontainers.image.ref.name").asText());
            String manifestBlob = blob(index.path("manifests").get(0).path("digest").asText());
            JsonNode manifest = JSON.readTree(entries(tar, List.of(manifestBlob)).get(manifestBlob));
            String configBlob = blob(manifest.path("config").path("digest").asText());
            JsonNode config = JSON.readTree(entries(tar, List.of(configBlob)).get(configBlob)).path("config");
            assertEquals("10001:10001", config.path("User").asText(), module);
            List<String> entrypoint = JSON.convertValue(config.path("Entrypoint"), JSON.getTypeFactory().constructCollectionType(List.class, String.class));
            assertEquals("java", entrypoint.getFirst(), module);
            assertTrue(entrypoint.contains("-XX:MaxRAMPercentage=60") && entrypoint.contains("-XX:+ExitOnOutOfMemoryError"), module + ": " + entrypoint);
            assertEquals(MAIN.get(module), entrypoint.getLast(), module);
            assertTrue(config.path("ExposedPorts").has(PORT.get(module) + "/tcp"), module + ": " + config.path("ExposedPorts"));
            assertTrue(config.path("Env").toString().contains("TALLY_BIND_HOST=0.0.0.0"), module);
        }
    }

    private static String blob(String digest) {
        return "blobs/sha256/" + digest.substring("sha256:".length());
    }

    /** The named entries of a (plain) tar file. */
    private static Map<String, byte[]> entries(Path tar, List<String> names) throws IOException {
        Map<String, byte[]> found = new HashMap<>();
        try (InputStream in = Files.newInputStream(tar)) {
            byte[] header = new byte[512];
            while (in.readNBytes(header, 0, 512) == 512 && header[0] != 0) {
                String name = new String(header, 0, 100, StandardCharsets.US_ASCII).replace("\0", "").strip();
                String prefix = new String(header, 345, 155, StandardCharsets.US_ASCII).replace("\0", "").strip();
                String full = prefix.isEmpty() ? name : prefix + "/" + name;
                long size = Long.parseLong(new String(header, 124, 12, StandardCharsets.US_ASCII).replace("\0", "").strip(), 8);
                long padded = (size + 511) / 512 * 512;
                if (names.contains(full)) {
                    ByteArrayOutputStream data = new ByteArrayOutputStream();
                    data.write(in.readNBytes((int) size));
                    found.put(full, data.toByteArray());
                    in.skipNBytes(padded - size);
                } else {
                    in.skipNBytes(padded);
                }
            }
        }
        return found;
    }
}
