package io.tally.system;

import io.micronaut.serde.ObjectMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** A subscription socket through the gateway, as a browser or dashboard would hold it; reads at a chosen pace. */
final class Socket implements AutoCloseable, WebSocket.Listener {

    private static final ObjectMapper JSON = ObjectMapper.getDefault();

    final LinkedBlockingQueue<Map<String, Object>> received = new LinkedBlockingQueue<>();
    final CompletableFuture<String> closed = new CompletableFuture<>();
    private final StringBuilder partial = new StringBuilder();
    private final long readDelayMillis;
    final AtomicLong bytes = new AtomicLong();
    private WebSocket ws;

    private Socket(long readDelayMillis) {
        this.readDelayMillis = readDelayMillis;
    }

    /** Opens a socket at {@code uri} (ws://…/api/v1/subscriptions) with the token in the Authorization header. */
    static Socket open(URI uri, String token, long readDelayMillis) {
        Socket socket = new Socket(readDelayMillis);
        socket.ws = HttpClient.newHttpClient().newWebSocketBuilder().header("Authorization", "Bearer " + token)
            .connectTimeout(Duration.ofSeconds(10)).buildAsync(uri, socket).join();
        return socket;
    }

    static URI ws(URI http) {
        return URI.create(http.toString().replaceFirst("^http", "ws"));
    }

    void send(String text) {
        ws.sendText(text, true).join();
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> next(Duration timeout) throws InterruptedException {
        Map<String, Object> message = received.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (message == null) {
            throw new AssertionError("no message within " + timeout);
        }
        return message;
    }

    /** Everything received so far, taken out of the queue. */
    List<Map<String, Object>> drain() {
        List<Map<String, Object>> out = new ArrayList<>();
        received.drainTo(out);
        return out;
    }

    @Override
    public void onOpen(WebSocket webSocket) {
        webSocket.request(1);
    }

    @Override
    @SuppressWarnings("unchecked")
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
            String text = partial.toString();
            partial.setLength(0);
            bytes.addAndGet(text.length());
            try {
                received.add(JSON.readValue(text, Map.class));
            } catch (Exception e) {
                received.add(Map.of("type", "unreadable", "text", text));
            }
            if (readDelayMillis > 0) {
                CompletableFuture.delayedExecutor(readDelayMillis, TimeUnit.MILLISECONDS).execute(() -> webSocket.request(1));
                return null;
            }
        }
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        closed.complete(statusCode + " " + reason);
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        closed.complete("error " + error);
    }

    @Override
    public void close() {
        if (!ws.isOutputClosed()) {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").orTimeout(5, TimeUnit.SECONDS).exceptionally(e -> null).join();
        }
        ws.abort();
    }
}
