package io.tally.gateway.console;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.type.Argument;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.serde.ObjectMapper;
import io.tally.model.Tenants;
import io.tally.model.TimeSource;
import io.tally.model.TokenClaims;
import io.tally.problem.FieldError;
import io.tally.problem.ProblemException;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the gateway serves besides the API: {@code /} leads to the web console (its files are
 * static resources under {@code /console/}), the OpenAPI document at {@code /openapi.json} (and {@code .yaml}) with its
 * rendered page at {@code /reference}, and the console's dev login on the local stack ({@link DevLogin}).
 */
@Controller
public class ConsoleController {

    private final OpenApiDocument openApi;
    private final DevLogin devLogin;
    private final ObjectMapper json;
    private final TimeSource time;

    public ConsoleController(OpenApiDocument openApi, DevLogin devLogin, ObjectMapper json, TimeSource time) {
        this.openApi = openApi;
        this.devLogin = devLogin;
        this.json = json;
        this.time = time;
    }

    @Get("/")
    HttpResponse<?> root() {
        return HttpResponse.seeOther(URI.create("/console/"));
    }

    @Get("/reference")
    HttpResponse<?> reference() {
        return HttpResponse.seeOther(URI.create("/console/reference.html"));
    }

    @Get(uri = "/openapi.json", produces = MediaType.APPLICATION_JSON)
    HttpResponse<byte[]> openApiJson() {
        return HttpResponse.ok(openApi.json()).header("Cache-Control", "no-cache");
    }

    @Get(uri = "/openapi.yaml", produces = "application/yaml")
    HttpResponse<byte[]> openApiYaml() {
        return HttpResponse.ok(openApi.yaml()).header("Cache-Control", "no-cache");
    }

    /** Whether the dev login is on: 200 {@code {"enabled": true}} on the local stack, else 404. */
    @Get(uri = "/console/dev-login", produces = MediaType.APPLICATION_JSON)
    Map<String, Object> devLoginState() {
        requireDevLogin();
        return Map.of("enabled", true, "ttlSeconds", DevLogin.TTL.toSeconds());
    }

    /**
     * {@code {"tenant": "demo", "roles": ["admin", "viewer", "producer"]}} → {@code {"token", "tenant", "roles",
     * "expiresAt"}}: a development token, only where anyone could mint one (see {@link DevLogin}).
     */
    @Post(uri = "/console/dev-login", consumes = MediaType.ALL, produces = MediaType.APPLICATION_JSON)
    Map<String, Object> devLogin(@Body @Nullable byte[] body) {
        requireDevLogin();
        Map<String, Object> request;
        try {
            request = body == null || body.length == 0 ? null : json.readValue(body, Argument.mapOf(String.class, Object.class));
        } catch (IOException | RuntimeException e) {
            request = null;
        }
        if (request == null) {
            throw ProblemException.invalid("Send a JSON object such as {\"tenant\": \"demo\", \"roles\": [\"admin\", \"viewer\"]}.",
                List.of(new FieldError("", "must be a JSON object")));
        }
        List<FieldError> errors = new ArrayList<>();
        for (String field : request.keySet()) {
            if (!Set.of("tenant", "roles").contains(field)) {
                errors.add(new FieldError("/" + field.replace("~", "~0").replace("/", "~1"), "unknown field; use tenant and roles"));
            }
        }
        Object tenant = request.get("tenant");
        if (!(tenant instanceof String t) || !Tenants.isValid(t)) {
            errors.add(new FieldError("/tenant", "must be a tenant name: 1 to 40 of a-z, 0-9 and '-', starting with a letter or digit"));
        }
        List<String> roles = new ArrayList<>();
        Object rawRoles = request.get("roles");
        if (!(rawRoles instanceof List<?> list) || list.isEmpty()) {
            errors.add(new FieldError("/roles", "must be a non-empty array of producer, admin, viewer"));
        } else {
            for (int i = 0; i < list.size(); i++) {
                if (list.get(i) instanceof String role && TokenClaims.ROLES.contains(role)) {
                    if (!roles.contains(role)) {
                        roles.add(role);
                    }
                } else {
                    errors.add(new FieldError("/roles/" + i, "must be producer, admin or viewer"));
                }
            }
        }
        if (!errors.isEmpty()) {
            throw ProblemException.invalid("The dev login needs a tenant and its roles.", errors);
        }
        var now = time.instant();
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("token", devLogin.mint((String) tenant, roles, now));
        answer.put("tenant", tenant);
        answer.put("roles", roles);
        answer.put("expiresAt", now.plus(DevLogin.TTL).toString());
        return answer;
    }

    private void requireDevLogin() {
        if (!devLogin.enabled()) {
            throw new ProblemException(HttpStatus.NOT_FOUND, "Not found", "The dev login exists only on the local stack (a gateway on "
                + "loopback with the development secret); sign in with a token from your identity provider.", null, null);
        }
    }
}
