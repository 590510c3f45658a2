package io.tally.gateway.console;

import io.micronaut.serde.ObjectMapper;
import jakarta.inject.Singleton;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The public API's OpenAPI document ({@code docs/openapi.yaml}, packaged into the gateway by the build), read once:
 * served as written and as JSON.
 */
@Singleton
public class OpenApiDocument {

    /** Where the build puts docs/openapi.yaml. */
    static final String RESOURCE = "openapi/openapi.yaml";

    private final byte[] yaml;
    private final byte[] json;

    public OpenApiDocument(ObjectMapper mapper) {
        try (InputStream in = OpenApiDocument.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the class path: the build copies docs/openapi.yaml there");
            }
            yaml = in.readAllBytes();
            Map<String, Object> tree = parse(new String(yaml, StandardCharsets.UTF_8));
            json = mapper.writeValueAsBytes(tree);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the OpenAPI document", e);
        }
    }

    /** The document as a tree of maps, lists and scalars (safe loading: no tags, no objects). */
    public static Map<String, Object> parse(String text) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        return new Yaml(new SafeConstructor(options)).load(text);
    }

    public byte[] yaml() {
        return yaml.clone();
    }

    public byte[] json() {
        return json.clone();
    }
}
