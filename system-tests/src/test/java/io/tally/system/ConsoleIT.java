package io.tally.system;

import io.micronaut.core.type.Argument;
import io.micronaut.serde.ObjectMapper;
import io.tally.devstack.Deadline;
import io.tally.testinfra.OpenApiContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;

import java.io.File;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static io.tally.system.Fleet.send;
import static io.tally.system.Fleet.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The web console and the OpenAPI document, through a real gateway in front of the fleet: a headless Chromium
 * (Debian's, driven by its chromium-driver through Selenium) signs in, creates a rule with mistakes and sees each
 * error by its field, fixes them, watches the rule go active and its leaderboard change as events arrive — without a
 * reload — follows the event tail, reads the rate limits and the API reference; a screenshot is saved as a test
 * artefact (target/console/). The OpenAPI document is checked both ways against the gateway's routes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleIT {

    private static final ObjectMapper JSON = ObjectMapper.getDefault();
    private static final Path ARTEFACTS = Path.of("target", "console");
    private static final Duration WAIT = Duration.ofSeconds(30);

    private Fleet fleet;
    private WebDriver browser;
    private Path profile;

    @BeforeAll
    void start() throws Exception {
        ensureBrowser();
        fleet = new Fleet(Map.of()).start("ingestion", "rules", "aggregation", "query", "subscription", "gateway");
        profile = Files.createTempDirectory("tally-console-chromium");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(executable("chromium"));
        // As root and on a closed network: no sandbox, no background connections (they are refused many at a time).
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            "--window-size=1366,1250", "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(executable("chromedriver")))
            .usingAnyFreePort().withLogFile(Fleet.LOGS.resolve("chromedriver.log").toFile()).build();
        browser = new ChromeDriver(service, options);
        browser.manage().timeouts().scriptTimeout(Duration.ofSeconds(10));
    }

    @AfterAll
    void stop() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        if (fleet != null) {
            fleet.close();
        }
        if (profile != null) {
            try (var files = Files.walk(profile)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void aTenantAdminDefinesARuleAndWatchesItsLeaderboardLive() throws Exception {
        String tenant = "console-" + UUID.randomUUID().toString().substring(0, 6);
        browser.get(url("/"));
        await("the sign-in page at /console/", () -> browser.getCurrentUrl().contains("/console/") && present(By.id("token")));

        // The local stack signs in without a token (dev login), as the tenant it is given.
        await("the dev login", () -> present(By.id("dev-login")));
        WebElement tenantInput = browser.findElement(By.id("dev-tenant"));
        tenantInput.clear();
        tenantInput.sendKeys(tenant);
        browser.findElement(By.id("dev-login")).click();
        await("the rules page", () -> text(By.id("main")).contains("No rules yet"));
        assertTrue(text(By.id("who-tenant")).startsWith(tenant), text(By.id("who-tenant")));

        // A rule with two mistakes: each error shows by its field, and nothing is created.
        browser.findElement(By.linkText("New rule")).click();
        await("the rule form", () -> present(By.cssSelector("input[data-pointer='/window/size']")));
        // Keyboard and screen readers: every control of the form has a name, and Tab reaches them in order.
        assertEquals(List.of(), ((JavascriptExecutor) browser).executeScript(
            "return [...document.querySelectorAll('main input, main select, main textarea, main button')]"
                + ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())"
                + ".map(e => e.outerHTML);"), "controls without an accessible name");
        browser.findElement(By.cssSelector("input[data-pointer='/name']")).click();
        browser.switchTo().activeElement().sendKeys(org.openqa.selenium.Keys.TAB);
        assertEquals("/window/size", browser.switchTo().activeElement().getAttribute("data-pointer"), "Tab moves to the next field");
        type(By.cssSelector("input[data-pointer='/name']"), "Team leaderboard");
        type(By.cssSelector("input[data-pointer='/window/size']"), "one minute");
        type(By.cssSelector("input[data-pointer='/allowedLateness']"), "PT1M");
        type(By.cssSelector("input[data-pointer='/groupBy']"), "attributes.team");
        browser.findElement(By.xpath("//button[text()='Add aggregation']")).click();
        type(By.cssSelector("input[data-pointer='/aggregations/1/name']"), "2points");
        new Select(browser.findElement(By.cssSelector("select[data-pointer='/aggregations/1/op']"))).selectByValue("sum");
        type(By.cssSelector("input[data-pointer='/aggregations/1/field']"), "value");
        browser.findElement(By.xpath("//button[text()='Create rule']")).click();
        await("the errors by their fields", () -> !text(By.cssSelector("[data-error-for='/window/size']")).isEmpty()
            && !text(By.cssSelector("[data-error-for='/aggregations/1/name']")).isEmpty());
        assertEquals("true", browser.findElement(By.cssSelector("input[data-pointer='/window/size']")).getAttribute("aria-invalid"));
        assertEquals("true", browser.findElement(By.cssSelector("input[data-pointer='/aggregations/1/name']")).getAttribute("aria-invalid"));
        assertTrue(text(By.cssSelector("[data-error-for='/aggregations/0/name']")).isEmpty(), "a correct field shows no error");
        String admin = token(tenant, "admin", "viewer");
        assertTrue(send("GET", fleet.gateway("/api/v1/rules"), admin, null).body().contains("\"rules\":[]"), "the refused rule was not created");
        screenshot("console-rule-errors.png");

        // Fixed, it is created, and its page shows it going active.
        type(By.cssSelector("input[data-pointer='/window/size']"), "PT1M");
        type(By.cssSelector("input[data-pointer='/aggregations/1/name']"), "points");
        browser.findElement(By.xpath("//button[text()='Create rule']")).click();
        await("the rule's page", () -> browser.getCurrentUrl().matches(".*#/rules/[^/]+$") && present(By.cssSelector("[data-testid=status]")));
        String ruleId = browser.getCurrentUrl().replaceAll(".*#/rules/", "");
        await("status active", () -> text(By.cssSelector("[data-testid=status]")).equals("active"));
        await("the live snapshot", () -> text(By.cssSelector("[data-testid=live-status]")).contains("rule version 1"));

        // Events arrive; the leaderboard changes on the open page (no reload: a marker set on the page survives).
        ((JavascriptExecutor) browser).executeScript("window.__notReloaded = true;");
        Instant minute = Instant.now().truncatedTo(ChronoUnit.MINUTES);
        String producer = token(tenant, "producer");
        post(producer, events(minute, "lions", 3, 10) + "," + events(minute, "bears", 1, 10));
        await("lions lead with 3 events", () -> leaderboard().equals(List.of("lions=3", "bears=1")));
        long sent = System.nanoTime();
        post(producer, events(minute, "bears", 5, 10));
        await("bears overtake with 6 events", () -> leaderboard().equals(List.of("bears=6", "lions=3")));
        System.out.printf("Console: the leaderboard re-ranked %d ms after the POST was sent (polled every 100 ms)%n",
            (System.nanoTime() - sent) / 1_000_000);
        assertEquals(Boolean.TRUE, ((JavascriptExecutor) browser).executeScript("return window.__notReloaded === true;"), "the page was reloaded");
        new Select(browser.findElement(By.cssSelector("select[aria-label='Rank groups by']"))).selectByValue("points");
        await("ranked by points", () -> leaderboard().equals(List.of("bears=60", "lions=30")));
        // The groups table and the series agree with the results API.
        String results = send("GET", fleet.gateway("/api/v1/rules/" + ruleId + "/results"), admin, null).body();
        assertTrue(results.contains("\"events\":6") && (results.contains("\"points\":60.0") || results.contains("\"points\":60")), results);
        assertTrue(present(By.cssSelector("[data-testid=series] canvas")), "the time series is drawn");
        await("late events shown", () -> text(By.cssSelector("[data-testid=late-events]")).equals("late events 0"));
        await("the watermark the updates do not carry, from results", () -> !text(By.cssSelector("[data-testid=live-status]")).contains("none yet"));
        ((JavascriptExecutor) browser).executeScript("document.activeElement.blur(); window.scrollTo(0, 0);");
        Path shot = screenshot("console.png");
        assertTrue(Files.size(shot) > 10_000, "a screenshot of the live page");

        // A saved dashboard (one query: the bears' group) shows the same live view, filtered.
        HttpResponse<String> dashboard = send("POST", fleet.gateway("/api/v1/dashboards"), admin,
            "{\"name\":\"Bears\",\"queries\":[{\"ruleId\":\"" + ruleId + "\",\"groups\":{\"attributes.team\":\"bears\"}}]}");
        assertEquals(201, dashboard.statusCode(), dashboard.body());
        browser.get(url("/console/#/dashboards"));
        await("the dashboards list", () -> present(By.linkText("Bears")));
        browser.findElement(By.linkText("Bears")).click();
        await("the dashboard's leaderboard", () -> leaderboard().equals(List.of("bears=6")));
        post(producer, events(minute, "bears", 1, 10));
        await("the dashboard updated live", () -> leaderboard().equals(List.of("bears=7")));

        // Edit: a backfill beyond the limits is refused by its field; a new name is saved as version 2 (If-Match).
        browser.get(url("/console/#/rules/" + ruleId));
        await("the rule's page", () -> present(By.linkText("Edit")));
        browser.findElement(By.linkText("Edit")).click();
        await("the editor with the rule", () -> present(By.cssSelector("input[data-pointer='/backfill']"))
            && "Team leaderboard".equals(browser.findElement(By.cssSelector("input[data-pointer='/name']")).getAttribute("value")));
        type(By.cssSelector("input[data-pointer='/name']"), "Team board");
        type(By.cssSelector("input[data-pointer='/backfill']"), "P9D");
        browser.findElement(By.xpath("//button[text()='Save as a new version']")).click();
        await("the backfill error by its field", () -> !text(By.cssSelector("[data-error-for='/backfill']")).isEmpty());
        assertTrue(send("GET", fleet.gateway("/api/v1/rules/" + ruleId), admin, null).body().contains("\"version\":1"), "nothing saved");
        type(By.cssSelector("input[data-pointer='/backfill']"), "");
        browser.findElement(By.xpath("//button[text()='Save as a new version']")).click();
        await("version 2 on the rule's page", () -> text(By.tagName("h1")).equals("Team board")
            && text(By.xpath("//dt[text()='Version']/following-sibling::dd[1]")).equals("2"));

        // The event tail shows the tenant's events as they arrive.
        browser.get(url("/console/#/events"));
        await("the tail following the log", () -> text(By.id("main")).contains("following since"));
        post(producer, events(minute, "tigers", 2, 1));
        await("the tail lines", () -> text(By.cssSelector("[data-testid=tail]")).contains("tigers"));
        assertFalse(text(By.cssSelector("[data-testid=tail]")).contains("lions"), "only events after the tail started");

        // The rate limits, with the headroom of each bucket.
        browser.get(url("/console/#/limits"));
        await("three buckets", () -> browser.findElements(By.cssSelector("[data-bucket]")).size() == 3);
        assertTrue(text(By.cssSelector("[data-bucket=ingest]")).contains("of 40,000 left"), text(By.cssSelector("[data-bucket=ingest]")));

        // The API reference renders the gateway's OpenAPI document.
        browser.get(url("/reference"));
        await("the reference", () -> text(By.tagName("h1")).startsWith("Tally public API"));
        assertTrue(browser.findElements(By.cssSelector("details.ref-op")).size() >= 17, "every operation and schema listed");

        // Delete asks first, then the rule is gone.
        browser.get(url("/console/#/rules/" + ruleId));
        await("the rule's page", () -> present(By.xpath("//button[text()='Delete']")));
        browser.findElement(By.xpath("//button[text()='Delete']")).click();
        browser.switchTo().alert().accept();
        await("the empty rules list", () -> text(By.id("main")).contains("No rules yet"));
        assertEquals(404, send("GET", fleet.gateway("/api/v1/rules/" + ruleId), admin, null).statusCode());

        // Signing out forgets the session.
        browser.get(url("/console/#/rules"));
        await("signed in still", () -> present(By.id("sign-out")) && browser.findElement(By.id("sign-out")).isDisplayed());
        browser.findElement(By.id("sign-out")).click();
        await("the sign-in page again", () -> present(By.id("token")));
    }

    @Test
    void aPastedTokenSignsInAndABadOneIsRefusedByTheField() throws Exception {
        browser.get(url("/console/"));
        ((JavascriptExecutor) browser).executeScript("sessionStorage.clear();");
        browser.navigate().refresh();
        await("the sign-in page", () -> present(By.id("token")));
        type(By.id("token"), "not-a-token");
        browser.findElement(By.xpath("//button[text()='Sign in']")).click();
        await("the token error", () -> text(By.id("token-error")).contains("not a JWT"));
        String tenant = "viewer-" + UUID.randomUUID().toString().substring(0, 6);
        type(By.id("token"), token(tenant, "viewer"));
        browser.findElement(By.xpath("//button[text()='Sign in']")).click();
        await("the rules page", () -> text(By.id("main")).contains("No rules yet"));
        assertFalse(present(By.linkText("New rule")), "a viewer is not offered to create rules");
        // Markup in a rule's name (another admin of the tenant wrote it) is shown as text, never run.
        String hostile = "<img src=x onerror=\\\"window.__injected=1\\\">";
        HttpResponse<String> created = send("POST", fleet.gateway("/api/v1/rules"), token(tenant, "admin"),
            "{\"name\":\"" + hostile + "\",\"aggregations\":[{\"name\":\"n\",\"op\":\"count\"}],\"window\":{\"size\":\"PT1M\"}}");
        assertEquals(201, created.statusCode(), created.body());
        browser.navigate().refresh();
        await("the rule listed", () -> present(By.cssSelector("[data-testid=rules] tr[data-rule]")));
        assertEquals("<img src=x onerror=\"window.__injected=1\">", text(By.cssSelector("[data-testid=rules] tr[data-rule] a")));
        assertTrue(browser.findElements(By.cssSelector("[data-testid=rules] img")).isEmpty(), "no element made of the name");
        assertEquals(Boolean.FALSE, ((JavascriptExecutor) browser).executeScript("return window.__injected === 1;"));
        // A token the gateway refuses (signed with another secret) sends the console back to the sign-in page.
        String forged = token(tenant, "viewer");
        forged = forged.substring(0, forged.lastIndexOf('.') + 1) + "AAAA" + forged.substring(forged.lastIndexOf('.') + 5);
        ((JavascriptExecutor) browser).executeScript("sessionStorage.setItem('tally.console.token', arguments[0]);", forged);
        browser.get(url("/console/#/limits"));
        await("back at the sign-in page", () -> present(By.id("token")) && text(By.id("notice")).contains("refused the token"));
    }

    @Test
    void theEventTailSamplesOnlyTheTenantsOwnEventsAndAccountsForEveryOne() throws Exception {
        String tenant = "tail-" + UUID.randomUUID().toString().substring(0, 6);
        String other = "tail-" + UUID.randomUUID().toString().substring(0, 6);
        Instant minute = Instant.now().truncatedTo(ChronoUnit.MINUTES);
        try (Socket socket = Socket.open(Socket.ws(fleet.gateway("/api/v1/subscriptions")), token(tenant, "viewer"), 0)) {
            socket.send("{\"op\":\"tail\",\"id\":\"u\",\"ruleId\":\"r\"}");
            assertEquals("/ruleId", socket.next(WAIT).get("pointer"));
            for (String id : List.of("t1", "t2", "t3", "t4")) {
                socket.send("{\"op\":\"tail\",\"id\":\"" + id + "\"}");
            }
            Set<String> following = new LinkedHashSet<>();
            while (following.size() < 4) {
                Map<String, Object> message = socket.next(WAIT);
                assertEquals("tailing", message.get("type"), String.valueOf(message));
                following.add((String) message.get("id"));
            }
            socket.send("{\"op\":\"tail\",\"id\":\"t1\"}");
            assertEquals(409, ((Number) socket.next(WAIT).get("status")).intValue(), "an id names one tail");
            socket.send("{\"op\":\"tail\",\"id\":\"t5\"}");
            assertEquals(429, ((Number) socket.next(WAIT).get("status")).intValue(), "four tails per socket");

            // 60 of the tenant's events at once and 10 of another tenant's: each tail accounts for exactly the 60, as
            // events sent (at most 25 per message) or skipped.
            post(token(other, "producer"), events(minute, "others", 10, 1));
            post(token(tenant, "producer"), events(minute, "ours", 60, 1));
            Map<String, long[]> seen = new java.util.HashMap<>();
            boolean complete = Deadline.in(WAIT).await(() -> {
                try {
                    for (Map<String, Object> message : socket.drain()) {
                        assertEquals("events", message.get("type"), String.valueOf(message));
                        @SuppressWarnings("unchecked")
                        List<Map<String, Object>> events = (List<Map<String, Object>>) message.get("events");
                        assertTrue(events.size() <= 25, "at most 25 per message");
                        events.forEach(e -> assertTrue(((String) e.get("id")).startsWith("ours-"), "only the tenant's own: " + e));
                        long[] counts = seen.computeIfAbsent((String) message.get("id"), k -> new long[2]);
                        counts[0] += events.size();
                        counts[1] += ((Number) message.get("skipped")).longValue();
                    }
                    return seen.size() == 4 && seen.values().stream().allMatch(c -> c[0] + c[1] >= 60);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, Duration.ofMillis(100));
            assertTrue(complete, "every tail accounted for the 60 events: " + seen.keySet());
            for (long[] counts : seen.values()) {
                assertEquals(60, counts[0] + counts[1], "sent + skipped");
                assertTrue(counts[0] >= 25, "a sample was sent: " + counts[0]);
            }
            socket.send("{\"op\":\"unsubscribe\",\"id\":\"t1\"}");
            assertEquals("unsubscribed", socket.next(WAIT).get("type"));
            System.out.printf("Event tail: 60 events at once → each of 4 tails sent %d and counted %d as skipped%n",
                seen.get("t2")[0], seen.get("t2")[1]);
        }
    }

    @Test
    void theOpenApiDocumentAndTheGatewayAgreeRouteByRoute() throws Exception {
        HttpResponse<String> root = send("GET", fleet.gateway("/"), null, null);
        assertEquals(303, root.statusCode());
        assertEquals("/console/", root.headers().firstValue("Location").orElseThrow());
        HttpResponse<String> console = send("GET", fleet.gateway("/console/"), null, null);
        assertEquals(200, console.statusCode());
        assertTrue(console.body().contains("<title>Tally console</title>"), console.body());
        assertTrue(console.headers().firstValue("Content-Security-Policy").orElse("").contains("default-src 'self'"));
        assertEquals(404, send("GET", fleet.gateway("/console/nothing-here.js"), null, null).statusCode());
        assertEquals(303, send("GET", fleet.gateway("/reference"), null, null).statusCode());
        assertEquals(200, send("GET", fleet.gateway("/openapi.yaml"), null, null).statusCode());

        HttpResponse<String> document = send("GET", fleet.gateway("/openapi.json"), null, null);
        assertEquals(200, document.statusCode());
        Map<String, Object> openApi = JSON.readValue(document.body(), Argument.mapOf(String.class, Object.class));
        assertEquals("3.1.0", openApi.get("openapi"));
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> paths = (Map<String, Map<String, Object>>) openApi.get("paths");
        Set<String> documented = new LinkedHashSet<>();
        List<String> methods = List.of("get", "post", "put", "delete", "patch");
        for (var path : paths.entrySet()) {
            for (String method : methods) {
                if (path.getValue().containsKey(method)) {
                    documented.add(method.toUpperCase() + " " + path.getKey());
                }
            }
        }
        assertTrue(documented.size() >= 17, documented.toString());

        // Every documented route answers (without a token: 401 — it exists, and it needs one).
        for (String route : documented) {
            String[] parts = route.split(" ");
            HttpResponse<String> answer = send(parts[0], fleet.gateway(parts[1].replace("{id}", "some-id")), null,
                parts[0].equals("GET") || parts[0].equals("DELETE") ? null : "{}");
            assertEquals(401, answer.statusCode(), route + " answered " + answer.statusCode() + ": " + answer.body());
        }

        // Every route the gateway answers is documented: each method on every path made of the document's words and
        // others, up to three segments under /api/v1, answers 404 or 405 unless the document has it.
        Set<String> words = new LinkedHashSet<>(List.of("x", "v2", "events", "rules", "results", "top", "admin", "replay", "usage", "limits",
            "dashboards", "subscriptions", "health", "openapi", "console"));
        for (String path : paths.keySet()) {
            for (String segment : path.split("/")) {
                if (!segment.isEmpty() && !segment.startsWith("{")) {
                    words.add(segment);
                }
            }
        }
        List<String> candidates = new ArrayList<>();
        for (String a : words) {
            candidates.add("/api/v1/" + a);
            for (String b : words) {
                candidates.add("/api/v1/" + a + "/" + b);
                for (String c : List.of("results", "top", "replay", "x")) {
                    candidates.add("/api/v1/" + a + "/" + b + "/" + c);
                }
            }
        }
        int probed = 0;
        List<String> undocumented = new ArrayList<>();
        for (String path : candidates) {
            for (String method : methods) {
                HttpResponse<String> answer = send(method.toUpperCase(), fleet.gateway(path), null, null);
                probed++;
                if (answer.statusCode() != 404 && answer.statusCode() != 405 && !documents(paths, method, path)) {
                    undocumented.add(method.toUpperCase() + " " + path + " → " + answer.statusCode());
                }
            }
        }
        assertEquals(List.of(), undocumented, "answered but not in the OpenAPI document (of " + probed + " probed)");
        System.out.printf("OpenAPI check: %d documented routes answer; %d method×path probes, none answered undocumented%n",
            documented.size(), probed);
    }

    /** Whether the document has {@code method} on a path template matching {@code path}. */
    private static boolean documents(Map<String, Map<String, Object>> paths, String method, String path) {
        for (var template : paths.entrySet()) {
            if (OpenApiContract.matches(template.getKey(), path) && template.getValue().containsKey(method)) {
                return true;
            }
        }
        return false;
    }

    // ---- helpers ----

    /** The leaderboard as "group=value" rows, top first. */
    private List<String> leaderboard() {
        List<String> rows = new ArrayList<>();
        for (WebElement li : browser.findElements(By.cssSelector("[data-testid=leaderboard] li[data-group]"))) {
            String value = li.getAttribute("data-value");
            rows.add(li.getAttribute("data-group") + "=" + (value.endsWith(".0") ? value.substring(0, value.length() - 2) : value));
        }
        return rows;
    }

    private static String events(Instant minute, String team, int count, double value) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < count; i++) {
            if (i > 0) {
                out.append(',');
            }
            out.append("{\"id\":\"").append(team).append('-').append(UUID.randomUUID()).append("\",\"category\":\"game\",\"time\":\"")
                .append(minute.plusSeconds(5 + i)).append("\",\"value\":").append(value).append(",\"attributes\":{\"team\":\"").append(team).append("\"}}");
        }
        return out.toString();
    }

    private void post(String producer, String events) throws Exception {
        HttpResponse<String> answer = send("POST", fleet.gateway("/api/v1/events"), producer, "{\"events\":[" + events + "]}");
        assertEquals(202, answer.statusCode(), answer.body());
    }

    private String url(String path) {
        return fleet.gateway(path).toString();
    }

    private boolean present(By by) {
        return !browser.findElements(by).isEmpty();
    }

    private String text(By by) {
        List<WebElement> found = browser.findElements(by);
        return found.isEmpty() ? "" : found.getFirst().getText().trim();
    }

    private void type(By by, String value) {
        WebElement input = browser.findElement(by);
        input.clear();
        input.sendKeys(value);
    }

    private Path screenshot(String name) throws Exception {
        Files.createDirectories(ARTEFACTS);
        Path target = ARTEFACTS.resolve(name);
        File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }

    private void await(String what, BooleanSupplier condition) throws Exception {
        boolean met = Deadline.in(WAIT).await(() -> {
            try {
                return condition.getAsBoolean();
            } catch (RuntimeException e) {
                return false; // the page is changing under us
            }
        }, Duration.ofMillis(100));
        if (!met) {
            screenshot("failed-" + what.replaceAll("[^A-Za-z0-9]+", "-") + ".png");
            fail("waited " + WAIT.toSeconds() + " s for " + what + "; the page says: " + text(By.tagName("body")));
        }
    }

    /** Debian's chromium and chromium-driver, installed by devstack/browser-setup.sh when missing. */
    private static void ensureBrowser() throws Exception {
        if (onPath("chromium") != null && onPath("chromedriver") != null) {
            return;
        }
        Process setup = new ProcessBuilder("bash", Fleet.ROOT.resolve("devstack/browser-setup.sh").toString()).inheritIO().start();
        if (!setup.waitFor(10, TimeUnit.MINUTES) || setup.exitValue() != 0 || onPath("chromium") == null || onPath("chromedriver") == null) {
            fail("the console's browser tests need Debian's chromium and chromium-driver; devstack/browser-setup.sh could not install them "
                + "(see its output above)");
        }
    }

    private static String executable(String name) {
        String found = onPath(name);
        if (found == null) {
            throw new IllegalStateException(name + " is not on the PATH");
        }
        return found;
    }

    private static String onPath(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
            File candidate = new File(dir, name);
            if (candidate.canExecute()) {
                return candidate.getAbsolutePath();
            }
        }
        return null;
    }
}
