package io.tally.gateway.console;

import io.tally.gateway.routing.Route;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import io.tally.testinfra.OpenApiContract;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** docs/openapi.yaml (as the build packages it) against the gateway's route table, both ways; ConsoleIT does the same over HTTP. */
class OpenApiDocumentTest {

    private static final List<String> METHODS = List.of("get", "post", "put", "delete", "patch");

    @SuppressWarnings("unchecked")
    private static Map<String, Map<String, Object>> paths() throws IOException {
        try (InputStream in = OpenApiDocument.class.getClassLoader().getResourceAsStream(OpenApiDocument.RESOURCE)) {
            assertNotNull(in, "the build packages docs/openapi.yaml");
            Map<String, Object> doc = OpenApiDocument.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            assertEquals("3.1.0", doc.get("openapi"));
            return (Map<String, Map<String, Object>>) doc.get("paths");
        }
    }

    @Test
    void theDocumentIsValidOpenApi31WithEveryReferenceResolved() throws IOException {
        String text;
        try (InputStream in = OpenApiDocument.class.getClassLoader().getResourceAsStream(OpenApiDocument.RESOURCE)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        ParseOptions options = new ParseOptions();
        options.setResolve(true);
        options.setValidateInternalRefs(true);
        SwaggerParseResult result = new OpenAPIV3Parser().readContents(text, null, options);
        assertEquals(List.of(), result.getMessages());
        assertNotNull(result.getOpenAPI());
        assertEquals("3.1.0", result.getOpenAPI().getOpenapi());
        assertEquals(11, result.getOpenAPI().getPaths().size());
    }

    @Test
    void everyDocumentedOperationIsAGatewayRoute() throws IOException {
        int operations = 0;
        for (var path : paths().entrySet()) {
            for (String method : METHODS) {
                if (path.getValue().containsKey(method)) {
                    operations++;
                    String concrete = path.getKey().replaceAll("\\{[^}]+}", "some-id");
                    assertInstanceOf(Route.Found.class, Route.match(method.toUpperCase(), concrete), method + " " + path.getKey());
                }
            }
        }
        assertEquals(17, operations, "operations in docs/openapi.yaml");
    }

    @Test
    void everyGatewayRouteIsDocumented() throws IOException {
        Map<String, Map<String, Object>> paths = paths();
        Set<String> words = new LinkedHashSet<>(List.of("x", "results", "top", "replay", "admin", "limits", "usage", "v2"));
        paths.keySet().forEach(p -> {
            for (String segment : p.split("/")) {
                if (!segment.isEmpty() && !segment.startsWith("{")) {
                    words.add(segment);
                }
            }
        });
        List<String> undocumented = new ArrayList<>();
        int probed = 0;
        for (String a : words) {
            for (String b : concat(List.of(""), words)) {
                for (String c : concat(List.of(""), words)) {
                    if (b.isEmpty() && !c.isEmpty()) {
                        continue;
                    }
                    String path = "/api/v1/" + a + (b.isEmpty() ? "" : "/" + b) + (c.isEmpty() ? "" : "/" + c);
                    for (String method : METHODS) {
                        probed++;
                        if (Route.match(method.toUpperCase(), path) instanceof Route.Found && !documented(paths, method, path)) {
                            undocumented.add(method.toUpperCase() + " " + path);
                        }
                    }
                }
            }
        }
        assertTrue(probed > 10_000, "probed " + probed);
        assertEquals(List.of(), undocumented);
    }

    private static List<String> concat(List<String> a, Set<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    private static boolean documented(Map<String, Map<String, Object>> paths, String method, String path) {
        for (var template : paths.entrySet()) {
            if (OpenApiContract.matches(template.getKey(), path) && template.getValue().containsKey(method)) {
                return true;
            }
        }
        return false;
    }
}
