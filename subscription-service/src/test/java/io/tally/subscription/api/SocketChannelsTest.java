package io.tally.subscription.api;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.netty.websocket.NettyWebSocketSession;
import io.micronaut.http.server.netty.NettyServerCustomizer;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SocketChannelsTest {

    /** A session on {@code channel}, as Micronaut's WebSocket upgrade makes one. */
    private static final class Session extends NettyWebSocketSession {
        Session(EmbeddedChannel channel) {
            super("s-" + channel.id(), channel, HttpRequest.GET("/api/v1/subscriptions"), null, null, "13", false);
            channel.attr(WEB_SOCKET_SESSION_KEY).set(this);
        }
    }

    @Test
    void findsAndDropsTheConnectionUnderASession() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        SocketChannels channels = new SocketChannels(meters);
        // Distinct ids, as real connections have (embedded channels share one by default).
        EmbeddedChannel first = new EmbeddedChannel(DefaultChannelId.newInstance());
        EmbeddedChannel second = new EmbeddedChannel(DefaultChannelId.newInstance());
        EmbeddedChannel request = new EmbeddedChannel(DefaultChannelId.newInstance());
        channels.specializeForChannel(first, NettyServerCustomizer.ChannelRole.CONNECTION);
        channels.specializeForChannel(second, NettyServerCustomizer.ChannelRole.CONNECTION);
        channels.specializeForChannel(request, NettyServerCustomizer.ChannelRole.REQUEST_STREAM);
        Session onSecond = new Session(second);
        Session onRequest = new Session(request);

        assertEquals(2.0, meters.get("tally.subscriptions.connections").gauge().value());
        assertEquals(second, channels.of(onSecond).orElseThrow());
        assertTrue(channels.of(onRequest).isEmpty(), "only connections are tracked");
        assertTrue(channels.drop(onSecond));
        assertFalse(second.isOpen());
        assertTrue(first.isOpen());
        assertTrue(channels.of(onSecond).isEmpty(), "a closed connection leaves the group");
        assertEquals(1.0, meters.get("tally.subscriptions.connections").gauge().value());
        assertFalse(channels.drop(onSecond));
    }
}
