package io.tally.devstack;

import java.util.List;

/**
 * One of Tally's six services as the local stack runs it.
 *
 * @param name        module and process name
 * @param portVariable the environment variable that sets its HTTP port (read by the service too)
 * @param defaultPort its port when the variable is unset
 * @param heap        maximum heap (small: the whole stack shares two cores)
 */
public record ServiceSpec(String name, String portVariable, int defaultPort, String heap) {

    /** In start order; the gateway last, as it routes to the others. */
    public static final List<ServiceSpec> ALL = List.of(
        new ServiceSpec("rules-service", "TALLY_RULES_PORT", 18082, "160m"),
        new ServiceSpec("ingestion-service", "TALLY_INGESTION_PORT", 18081, "192m"),
        new ServiceSpec("aggregation-service", "TALLY_AGGREGATION_PORT", 18083, "512m"),
        new ServiceSpec("query-service", "TALLY_QUERY_PORT", 18084, "192m"),
        new ServiceSpec("subscription-service", "TALLY_SUBSCRIPTION_PORT", 18085, "256m"),
        new ServiceSpec("api-gateway", "TALLY_GATEWAY_PORT", 8080, "192m"));

    public int port(StackConfig config) {
        return StackConfig.intEnv(config.env(), portVariable, defaultPort);
    }

    /** {@code TALLY_QUERY_URL} and so on: where the other services reach this one. */
    public String urlVariable() {
        return portVariable.replace("_PORT", "_URL");
    }

    public String url(StackConfig config) {
        return "http://127.0.0.1:" + port(config);
    }
}
