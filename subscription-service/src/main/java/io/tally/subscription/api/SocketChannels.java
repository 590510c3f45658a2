package io.tally.subscription.api;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import io.micronaut.http.netty.websocket.NettyWebSocketSession;
import io.micronaut.http.server.netty.NettyServerCustomizer;
import io.micronaut.websocket.WebSocketSession;
import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import jakarta.inject.Singleton;

import java.util.Optional;

/**
 * The server's open connections, through Micronaut's public customizer API, so a socket whose client never takes
 * its close frame can be dropped: the connection of a WebSocket session carries the session as the channel
 * attribute {@link NettyWebSocketSession#WEB_SOCKET_SESSION_KEY}.
 */
@Singleton
public class SocketChannels implements BeanCreatedEventListener<NettyServerCustomizer.Registry>, NettyServerCustomizer {

    /** Open connections; a closed channel leaves the group by itself. */
    private final ChannelGroup connections = new DefaultChannelGroup("subscription-connections", GlobalEventExecutor.INSTANCE);

    public SocketChannels(MeterRegistry meters) {
        Gauge.builder("tally.subscriptions.connections", connections, ChannelGroup::size)
            .description("Open connections to the subscription service (sockets and plain HTTP)").register(meters);
    }

    @Override
    public NettyServerCustomizer.Registry onCreated(BeanCreatedEvent<NettyServerCustomizer.Registry> event) {
        event.getBean().register(this);
        return event.getBean();
    }

    @Override
    public NettyServerCustomizer specializeForChannel(Channel channel, ChannelRole role) {
        if (role == ChannelRole.CONNECTION) {
            connections.add(channel);
        }
        return this;
    }

    /** The connection carrying {@code session}, while it is open. */
    Optional<Channel> of(WebSocketSession session) {
        for (Channel channel : connections) {
            if (channel.attr(NettyWebSocketSession.WEB_SOCKET_SESSION_KEY).get() == session) {
                return Optional.of(channel);
            }
        }
        return Optional.empty();
    }

    /** Closes the connection under {@code session} without waiting for the client; true when there was one. */
    boolean drop(WebSocketSession session) {
        Optional<Channel> channel = of(session);
        channel.ifPresent(Channel::close);
        return channel.isPresent();
    }
}
