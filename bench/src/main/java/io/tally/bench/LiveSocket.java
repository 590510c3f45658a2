package io.tally.bench;

import com.nimbusds.jose.util.JSONObjectUtils;
import io.tally.model.TimeSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/** A live-subscriptions socket through the gateway, as the benchmarks use it. */
final class LiveSocket {

    /** Takes each complete message, parsed, with the {@link TimeSource#nanos()} it arrived at. */
    interface Handler {
        void message(long receivedNanos, Map<String, Object> message);
    }

    private LiveSocket() {
    }

    /** Opens the socket; messages are read one at a time and handed to {@code handler} on the client's thread. */
    static WebSocket open(HttpClient http, String gateway, String token, Handler handler) {
        return http.newWebSocketBuilder().header("Authorization", "Bearer " + token)
            .buildAsync(URI.create(gateway.replaceFirst("^http", "ws") + "/api/v1/subscriptions"), new WebSocket.Listener() {
                private final StringBuilder partial = new StringBuilder();

                @Override
                public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                    partial.append(data);
                    if (last) {
                        long now = TimeSource.SYSTEM.nanos();
                        try {
                            handler.message(now, JSONObjectUtils.parse(partial.toString()));
                        } catch (Exception e) {
                            System.err.println("unreadable message: " + e);
                        }
                        partial.setLength(0);
                    }
                    w.request(1);
                    return null;
                }
            }).join();
    }

    /** The {@code events} value summed over a window's groups. */
    @SuppressWarnings("unchecked")
    static long events(Map<String, Object> window) {
        long count = 0;
        for (Object g : (List<Object>) window.get("groups")) {
            count += ((Number) ((Map<String, Object>) ((Map<String, Object>) g).get("values")).get("events")).longValue();
        }
        return count;
    }
}
