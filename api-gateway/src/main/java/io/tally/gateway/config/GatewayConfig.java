package io.tally.gateway.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;

import java.time.Duration;

/**
 * Settings of the gateway ({@code tally.gateway.*}; each has a {@code TALLY_*} variable in application.yml).
 *
 * @param jwtSecret          HS256 secret, at least 32 bytes; empty = the published development secret (logged loudly)
 * @param jwksUrl            optional JWKS URL whose keys verify RS256/ES256 tokens (production identity providers)
 * @param ingestionUrl       where the ingestion service answers
 * @param rulesUrl           where the rules service answers
 * @param queryUrl           where the query service answers
 * @param subscriptionUrl    where the subscription service answers
 * @param ingestRate         ingest tokens (events) per second per tenant
 * @param ingestBurst        ingest bucket capacity
 * @param queryRate          query tokens (requests, subscribe messages) per second per tenant
 * @param queryBurst         query bucket capacity
 * @param tenantLimits       per-tenant overrides: {@code tenant=ingest:rate/burst,query:rate/burst;other=...}
 * @param rateLimitFailOpen  when Redis is unavailable: true = keep serving with a local bucket per gateway
 *                           (default), false = answer 503
 * @param downstreamTimeout  longest wait for a downstream answer before 504-style failure (counted by the breaker)
 * @param maxConcurrent      bulkhead: concurrent calls per downstream; more wait for nothing and get 503
 * @param breakerOpenFor     how long an opened breaker refuses at once before letting trial calls through
 * @param foldRate           fold tokens per second per tenant: state cells its events may update (events times the
 *                           tenant's cells per event, from the rules service); bounds what one tenant's rules make the
 *                           aggregation engine do, however few events they take
 * @param foldBurst          fold bucket capacity
 */
@ConfigurationProperties(GatewayConfig.PREFIX)
public record GatewayConfig(
    @Nullable String jwtSecret,
    @Nullable String jwksUrl,
    @Bindable(defaultValue = "http://127.0.0.1:18081") String ingestionUrl,
    @Bindable(defaultValue = "http://127.0.0.1:18082") String rulesUrl,
    @Bindable(defaultValue = "http://127.0.0.1:18084") String queryUrl,
    @Bindable(defaultValue = "http://127.0.0.1:18085") String subscriptionUrl,
    @Bindable(defaultValue = "20000") long ingestRate,
    @Bindable(defaultValue = "40000") long ingestBurst,
    @Bindable(defaultValue = "200") long queryRate,
    @Bindable(defaultValue = "400") long queryBurst,
    @Nullable String tenantLimits,
    @Bindable(defaultValue = "true") boolean rateLimitFailOpen,
    @Bindable(defaultValue = "10s") Duration downstreamTimeout,
    @Bindable(defaultValue = "256") int maxConcurrent,
    @Bindable(defaultValue = "5s") Duration breakerOpenFor,
    @Bindable(defaultValue = "5000000") long foldRate,
    @Bindable(defaultValue = "10000000") long foldBurst) {

    public static final String PREFIX = "tally.gateway";
}
