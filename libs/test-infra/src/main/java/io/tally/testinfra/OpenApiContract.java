package io.tally.testinfra;

import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Patch;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import org.junit.jupiter.api.Assertions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The public API's OpenAPI document ({@code docs/openapi.yaml}) against a service's controllers, at build time: each
 * public route a controller serves ({@code /api/v1/...}) must be an operation of the document, so a controller cannot
 * add or move a route without the contract saying so. (The gateway's route table is checked against the document in
 * its own tests, and the running gateway in ConsoleIT.)
 */
public final class OpenApiContract {

    private OpenApiContract() {
    }

    /** The document's operations as {@code "GET /api/v1/rules/{}"} (path parameters written {@code {}}). */
    @SuppressWarnings("unchecked")
    public static Set<String> documentedOperations() throws IOException {
        Map<String, Object> doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(document()));
        Set<String> operations = new TreeSet<>();
        ((Map<String, Map<String, Object>>) doc.get("paths")).forEach((path, item) -> {
            for (String method : List.of("get", "post", "put", "delete", "patch")) {
                if (item.containsKey(method)) {
                    operations.add(method.toUpperCase() + " " + normalize(path));
                }
            }
        });
        return operations;
    }

    /** The public routes the controllers serve, written as {@link #documentedOperations()} writes them. */
    public static Set<String> controllerRoutes(Class<?>... controllers) {
        Set<String> routes = new TreeSet<>();
        for (Class<?> controller : controllers) {
            Controller at = controller.getAnnotation(Controller.class);
            String base = at == null ? "" : at.value();
            for (Method method : controller.getDeclaredMethods()) {
                for (Annotation annotation : method.getAnnotations()) {
                    String verb = switch (annotation) {
                        case Get g -> "GET " + uri(g.value(), g.uri());
                        case Post p -> "POST " + uri(p.value(), p.uri());
                        case Put p -> "PUT " + uri(p.value(), p.uri());
                        case Delete d -> "DELETE " + uri(d.value(), d.uri());
                        case Patch p -> "PATCH " + uri(p.value(), p.uri());
                        default -> null;
                    };
                    if (verb != null) {
                        String[] parts = verb.split(" ", 2);
                        String path = normalize(join(base, parts[1]));
                        if (path.startsWith("/api/")) {
                            routes.add(parts[0] + " " + path);
                        }
                    }
                }
            }
        }
        return routes;
    }

    /** Fails naming every public route of {@code controllers} that docs/openapi.yaml lacks. */
    public static void assertDocumented(Class<?>... controllers) throws IOException {
        Set<String> routes = controllerRoutes(controllers);
        Assertions.assertFalse(routes.isEmpty(), "no public routes in " + List.of(controllers));
        Set<String> undocumented = new TreeSet<>(routes);
        undocumented.removeAll(documentedOperations());
        Assertions.assertEquals(Set.of(), undocumented, "routes " + routes + " not all in docs/openapi.yaml");
    }

    /** Whether {@code path} is an instance of the path template {@code template} ({@code /api/v1/rules/{id}}). */
    public static boolean matches(String template, String path) {
        return path.matches("\\Q" + template.replaceAll("\\{[^}]+}", "\\\\E[^/]+\\\\Q") + "\\E");
    }

    private static String uri(String value, String uri) {
        return !"/".equals(uri) && !uri.isEmpty() ? uri : value;
    }

    private static String join(String base, String path) {
        if (path == null || path.isEmpty() || path.equals("/")) {
            return base;
        }
        return base.replaceAll("/$", "") + (path.startsWith("/") ? path : "/" + path);
    }

    static String normalize(String path) {
        String p = path.replaceAll("\\{[^}]*}", "{}");
        return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }

    /** docs/openapi.yaml, found from the module's directory upwards (a clone's root holds it). */
    static Path document() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            Path candidate = d.resolve("docs").resolve("openapi.yaml");
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("no docs/openapi.yaml above " + dir);
    }
}
