package io.tally.subscription.api;

import io.micronaut.http.HttpRequest;
import io.micronaut.websocket.CloseReason;
import io.micronaut.websocket.WebSocketPongMessage;
import io.micronaut.websocket.WebSocketSession;
import io.micronaut.websocket.annotation.OnClose;
import io.micronaut.websocket.annotation.OnError;
import io.micronaut.websocket.annotation.OnMessage;
import io.micronaut.websocket.annotation.OnOpen;
import io.micronaut.websocket.annotation.ServerWebSocket;
import io.tally.model.TallyHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The WebSocket the gateway proxies {@code /api/v1/subscriptions} to. The gateway authenticates
 * the client and sets the tenant header; a socket without it did not come through the gateway.
 */
@ServerWebSocket("/api/v1/subscriptions")
public class SubscriptionSocket {

    private static final Logger LOG = LoggerFactory.getLogger(SubscriptionSocket.class);

    private final SubscriptionService service;

    public SubscriptionSocket(SubscriptionService service) {
        this.service = service;
    }

    @OnOpen
    public void onOpen(WebSocketSession session, HttpRequest<?> request) {
        String tenant = request.getHeaders().get(TallyHeaders.TENANT);
        if (tenant == null || tenant.isBlank()) {
            session.close(new CloseReason(1008, "no tenant: connect through the gateway at /api/v1/subscriptions"));
            return;
        }
        service.opened(session, tenant);
    }

    @OnMessage
    public void onMessage(String message, WebSocketSession session) {
        service.received(session, message);
    }

    @OnMessage
    public void onPong(WebSocketPongMessage pong, WebSocketSession session) {
        service.pong(session);
    }

    @OnClose
    public void onClose(WebSocketSession session, CloseReason reason) {
        service.closed(session);
    }

    @OnError
    public void onError(WebSocketSession session, Throwable error) {
        LOG.debug("Socket {} failed: {}", session.getId(), error.toString());
    }
}
