package io.tally.subscription.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

import java.time.Duration;

/**
 * Settings of the subscription service ({@code tally.subscriptions.*}, environment in
 * application.yml).
 *
 * @param coalesce        at most one update per subscription per this interval; changes in between merge
 * @param sendBuffer      bytes a client may leave unread before it gets nothing more until it drains
 * @param stallTimeout    how long a client may stay at a full buffer before it is closed (1008)
 * @param history         how long each rule's recent change announcements are kept for resumed subscriptions
 * @param historySize     how many recent change announcements per rule are kept at most
 * @param perConnection   subscriptions one socket may hold
 * @param perTenant       subscriptions one tenant may hold on this instance
 * @param pingInterval    how often each socket is pinged; a socket without a pong for two intervals is closed
 */
@ConfigurationProperties("tally.subscriptions")
public record SubscriptionConfig(
    @Bindable(defaultValue = "50ms") Duration coalesce,
    @Bindable(defaultValue = "1048576") long sendBuffer,
    @Bindable(defaultValue = "30s") Duration stallTimeout,
    @Bindable(defaultValue = "60s") Duration history,
    @Bindable(defaultValue = "512") int historySize,
    @Bindable(defaultValue = "1000") int perConnection,
    @Bindable(defaultValue = "20000") int perTenant,
    @Bindable(defaultValue = "30s") Duration pingInterval) {
}
