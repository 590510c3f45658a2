package io.tally.bench;

import io.tally.devstack.DevTokens;
import io.tally.model.TimeSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the gateway adds: the same cheap read (a results query for an unknown rule, answered 404 from the query
 * service's memory) sent straight to the query service and through the gateway (JWT check, Redis token
 * bucket, breaker, forward), sequentially for latency (p50, p99) and then from many concurrent callers for
 * authenticated, rate-limited requests per second. Run against a stack started with a query limit high enough
 * not to refuse (e.g. {@code TALLY_QUERY_RATE=1000000 TALLY_QUERY_BURST=1000000 ./tally up}).
 *
 * <p>Usage: {@code java -cp bench/target/tally-benchmarks.jar io.tally.bench.GatewayOverhead [requests] [concurrency]}
 */
public final class GatewayOverhead {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    public static void main(String[] args) throws Exception {
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
        int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        String gateway = System.getenv().getOrDefault("TALLY_GATEWAY_URL", "http://127.0.0.1:8080");
        String query = System.getenv().getOrDefault("TALLY_QUERY_URL", "http://127.0.0.1:18084");
        String tenant = "bench";
        String token = DevTokens.mint(DevTokens.secret(System.getenv()), "bench", tenant, List.of("viewer"), Duration.ofHours(1));

        System.out.printf("warming up (%d requests each way)...%n", requests / 2);
        run(query, tenant, null, requests / 2);
        run(gateway, tenant, token, requests / 2);
        long[] direct = run(query, tenant, null, requests);
        long[] through = run(gateway, tenant, token, requests);
        double directP50 = percentile(direct, 50);
        double directP99 = percentile(direct, 99);
        double gatewayP50 = percentile(through, 50);
        double gatewayP99 = percentile(through, 99);
        System.out.printf("sequential, %d requests each:%n", requests);
        System.out.printf("  direct to query-service   p50 %.3f ms   p99 %.3f ms%n", directP50, directP99);
        System.out.printf("  through the gateway       p50 %.3f ms   p99 %.3f ms%n", gatewayP50, gatewayP99);
        System.out.printf("  added by the gateway      p50 %.3f ms   p99 %.3f ms%n", gatewayP50 - directP50, gatewayP99 - directP99);
        System.out.printf("throughput, %d concurrent callers for 10 s:%n", concurrency);
        System.out.printf("  direct to query-service   %.0f requests/s%n", throughput(query, tenant, null, concurrency));
        System.out.printf("  through the gateway       %.0f requests/s (authenticated, rate-limited)%n", throughput(gateway, tenant, token, concurrency));
    }

    private static HttpRequest request(String base, String tenant, String token) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/api/v1/rules/" + UUID.randomUUID() + "/results"))
            .timeout(Duration.ofSeconds(10));
        return (token == null ? b.header("X-Tally-Tenant", tenant) : b.header("Authorization", "Bearer " + token)).build();
    }

    private static long[] run(String base, String tenant, String token, int n) throws Exception {
        long[] nanos = new long[n];
        for (int i = 0; i < n; i++) {
            HttpRequest request = request(base, tenant, token);
            long start = TimeSource.SYSTEM.nanos();
            HttpResponse<Void> response = HTTP.send(request, HttpResponse.BodyHandlers.discarding());
            nanos[i] = TimeSource.SYSTEM.nanos() - start;
            if (response.statusCode() != 404) {
                throw new IllegalStateException(base + " answered " + response.statusCode() + " (is the query limit high enough?)");
            }
        }
        return nanos;
    }

    private static double throughput(String base, String tenant, String token, int concurrency) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Long>> counts = new ArrayList<>();
            for (int c = 0; c < concurrency; c++) {
                counts.add(pool.submit(() -> {
                    long done = 0;
                    while (!stop.get()) {
                        HTTP.send(request(base, tenant, token), HttpResponse.BodyHandlers.discarding());
                        done++;
                    }
                    return done;
                }));
            }
            long start = TimeSource.SYSTEM.nanos();
            Thread.sleep(10_000);
            stop.set(true);
            long total = 0;
            for (Future<Long> f : counts) {
                total += f.get();
            }
            return total / ((TimeSource.SYSTEM.nanos() - start) / 1e9);
        }
    }

    private static double percentile(long[] nanos, double p) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return sorted[(int) Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)] / 1e6;
    }
}
