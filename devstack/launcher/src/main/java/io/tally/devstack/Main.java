package io.tally.devstack;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** The command line behind {@code ./tally}: up, down, status, token. */
public final class Main {

    private static final String USAGE = """
        usage: ./tally <command>
          up [--tracing]                 build what is missing, start the stack, wait until it is ready
                                         (--tracing: also a Zipkin trace UI; the services send it their spans)
          down [--purge]                 stop every process of the stack (--purge also deletes its data)
          demo [--for PT2M]              up, then demo rules, a live producer and a live view (Ctrl-C stops it)
          status                         each process, its pid, state and address
          token --tenant <t> --roles <r1,r2> [--ttl PT1H] [--sub <name>]
                                         print a signed development token (roles: producer, admin, viewer)
          replay --tenant <t> [--rule <id>] --from <instant | PT6H>
                                         rebuild the tenant's rules (or one) from the event log, from that instant
                                         (or that long ago): each gets a new version, backfilled while the current
                                         one keeps serving; shows progress until it serves
          bench [--quick] [--scale-out]  the end-to-end benchmark against Kafka Streams and Apache Flink, and the
                                         scale-out phase (1-3 aggregation instances); --scale-out runs only that and
                                         Flink (results in bench/results)
          base-image [<tar>]             a Java runtime base image tarball from this machine's JDK, for
                                         ./mvnw -B -Pimages package -Dtally.image.base=tar://<tar> without a registry
        environment: TALLY_GATEWAY_PORT (8080), TALLY_KAFKA_PORT (19092), TALLY_REDIS_BASE_PORT (17001),
          TALLY_POSTGRES_PORT (15432), TALLY_JWT_SECRET, TALLY_STATE_DIR (.tally)""";

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.getenv(), System.out, System.err));
    }

    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println(USAGE);
            return 2;
        }
        Path home = Path.of(env.getOrDefault("TALLY_HOME", "."));
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        try {
            StackConfig config = StackConfig.fromEnvironment(home, env);
            return switch (args[0]) {
                case "up" -> up(config, rest, out, err);
                case "demo" -> demo(config, rest, out, err);
                case "down" -> down(config, rest, out);
                case "status" -> new LocalStack(config).status(out) ? 0 : 1;
                case "token" -> token(env, rest, out, err);
                case "replay" -> replay(config, rest, out, err);
                case "help", "--help", "-h" -> {
                    out.println(USAGE);
                    yield 0;
                }
                default -> {
                    err.println("tally: unknown command '" + args[0] + "'");
                    err.println(USAGE);
                    yield 2;
                }
            };
        } catch (StackException e) {
            err.println("tally: " + e.getMessage());
            return 1;
        }
    }

    private static int up(StackConfig config, List<String> options, PrintStream out, PrintStream err) {
        for (String option : options) {
            if (!option.equals("--tracing")) {
                err.println("tally up: unknown option " + option);
                return 2;
            }
        }
        boolean tracing = options.contains("--tracing");
        Progress progress = new Progress(out);
        LocalStack stack = new LocalStack(config, tracing);
        boolean servicesRan = stack.services().stream().anyMatch(ServiceProcess::anyRunning);
        stack.up(Duration.ofSeconds(180), progress);
        String token = DevTokens.mint(DevTokens.secret(config.env()), "developer", "demo",
            List.of("producer", "admin", "viewer"), Duration.ofHours(12));
        ServiceSpec gateway = ServiceSpec.ALL.getLast();
        out.println();
        out.printf("Tally is up in %.1f s.%n", progress.elapsedSeconds());
        out.println("  gateway:  " + gateway.url(config) + "   (readiness: " + gateway.url(config) + "/health/readiness)");
        out.println("  kafka:    " + config.kafkaBootstrap());
        out.println("  redis:    " + config.redisUris());
        out.println("  postgres: " + config.jdbcUrl() + " (user " + StackConfig.DB_USER + ")");
        out.println("  logs:     " + config.logDir());
        if (tracing) {
            out.println("  traces:   " + stack.zipkin().address() + "/zipkin/   (Zipkin; send a sampled traceparent header to trace a request, or set"
                + " TALLY_TRACING_SAMPLE_RATIO, 0.01 by default)");
            if (servicesRan) {
                out.println("            services that were already running keep their settings: ./tally down, then ./tally up --tracing, to trace them");
            }
        }
        out.println();
        out.println("Development token (tenant 'demo', roles producer, admin, viewer; valid 12 h):");
        out.println(token);
        out.println();
        out.println("Try:  curl -H \"Authorization: Bearer $TOKEN\" " + gateway.url(config) + "/api/v1/rules");
        out.println("Stop: ./tally down");
        return 0;
    }

    private static int demo(StackConfig config, List<String> options, PrintStream out, PrintStream err) {
        Duration duration = null;
        if (!options.isEmpty()) {
            if (options.size() != 2 || !options.getFirst().equals("--for")) {
                err.println("usage: ./tally demo [--for PT2M]");
                return 2;
            }
            try {
                duration = Duration.parse(options.get(1));
            } catch (DateTimeParseException e) {
                err.println("tally demo: --for " + options.get(1) + " is not an ISO-8601 duration such as PT2M");
                return 2;
            }
        }
        int up = up(config, List.of(), out, err);
        if (up != 0) {
            return up;
        }
        String token = DevTokens.mint(DevTokens.secret(config.env()), "demo", Demo.TENANT,
            List.of("producer", "admin", "viewer"), Duration.ofHours(12));
        try {
            new Demo(ServiceSpec.ALL.getLast().url(config), token, out).run(duration, System.console() != null && duration == null);
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        } catch (StackException e) {
            throw e;
        } catch (Exception e) {
            throw new StackException("the demo failed: " + e.getMessage() + " (logs: " + config.logDir() + ")");
        }
    }

    private static int down(StackConfig config, List<String> options, PrintStream out) {
        boolean purge = options.contains("--purge");
        Progress progress = new Progress(out);
        int stopped = new LocalStack(config).down(progress);
        out.println(stopped == 0 ? "nothing was running." : "stopped " + stopped + " processes.");
        if (purge) {
            StackFiles.deleteTree(config.dataDir());
            StackFiles.deleteTree(config.runDir());
            out.println("deleted the stack's data in " + config.dataDir());
        }
        return 0;
    }

    private static int token(Map<String, String> env, List<String> options, PrintStream out, PrintStream err) {
        String tenant = null;
        String roles = null;
        String ttl = "PT1H";
        String sub = "developer";
        for (int i = 0; i < options.size(); i++) {
            String option = options.get(i);
            if (i + 1 >= options.size()) {
                err.println("tally token: " + option + " needs a value");
                return 2;
            }
            String value = options.get(++i);
            switch (option) {
                case "--tenant" -> tenant = value;
                case "--roles" -> roles = value;
                case "--ttl" -> ttl = value;
                case "--sub" -> sub = value;
                default -> {
                    err.println("tally token: unknown option " + option);
                    return 2;
                }
            }
        }
        if (tenant == null || roles == null) {
            err.println("usage: ./tally token --tenant <t> --roles producer,admin,viewer [--ttl PT1H] [--sub <name>]");
            return 2;
        }
        Duration duration;
        try {
            duration = Duration.parse(ttl);
        } catch (DateTimeParseException e) {
            err.println("tally token: --ttl " + ttl + " is not an ISO-8601 duration such as PT1H or PT30M");
            return 2;
        }
        List<String> roleList = new ArrayList<>(Stream.of(roles.split(",")).map(String::trim).filter(r -> !r.isEmpty()).toList());
        out.println(DevTokens.mint(DevTokens.secret(env), sub, tenant, roleList, duration));
        return 0;
    }

    private static int replay(StackConfig config, List<String> options, PrintStream out, PrintStream err) {
        String tenant = null;
        String rule = null;
        String from = null;
        for (int i = 0; i < options.size(); i++) {
            String option = options.get(i);
            if (i + 1 >= options.size()) {
                err.println("tally replay: " + option + " needs a value");
                return 2;
            }
            String value = options.get(++i);
            switch (option) {
                case "--tenant" -> tenant = value;
                case "--rule" -> rule = value;
                case "--from" -> from = value;
                default -> {
                    err.println("tally replay: unknown option " + option);
                    err.println(Replay.USAGE);
                    return 2;
                }
            }
        }
        if (tenant == null || from == null) {
            err.println(Replay.USAGE);
            return 2;
        }
        java.time.Instant start;
        try {
            start = Replay.from(from, java.time.Instant.now());
        } catch (IllegalArgumentException e) {
            err.println("tally replay: " + e.getMessage());
            return 2;
        }
        String token = DevTokens.mint(DevTokens.secret(config.env()), "replay", tenant, List.of("admin", "viewer"), Duration.ofHours(1));
        try {
            return new Replay(ServiceSpec.ALL.getLast().url(config), token, out).run(tenant, rule, start, Duration.ofHours(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        } catch (Exception e) {
            err.println("tally replay: the gateway did not answer (" + e.getMessage() + "); is the stack up? ./tally status");
            return 1;
        }
    }
}
