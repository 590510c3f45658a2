package io.tally.gateway.ratelimit;

/**
 * The outcome of taking tokens: whether the request may pass, and what the RateLimit-* headers say.
 *
 * @param limit          bucket capacity (RateLimit-Limit)
 * @param remaining      tokens left after this request (RateLimit-Remaining)
 * @param resetSeconds   seconds until the bucket is full again (RateLimit-Reset)
 * @param retryAfterSeconds when refused: whole seconds until enough tokens are there (≥ 1)
 * @param source         "redis" (shared by all replicas), "local" (fail-open fallback) or "unavailable"
 */
public record Decision(boolean allowed, long limit, long remaining, long resetSeconds, long retryAfterSeconds, String source) {
}
