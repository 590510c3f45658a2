package io.tally.results;

import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisAdvancedClusterAsyncCommands;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;

/** A Lua script run by EVALSHA, falling back to EVAL once when a node answers NOSCRIPT. */
public final class LuaScript {

    private final String source;
    private final String sha;

    private LuaScript(String source) {
        this.source = source;
        try {
            this.sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-1", e);
        }
    }

    /** Loads a script from the class path of {@code owner}. */
    public static LuaScript load(Class<?> owner, String resource) {
        try (InputStream in = owner.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("script " + resource + " is missing from the class path");
            }
            return new LuaScript(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The script's text, for running it on one node's own connection (EVAL). */
    public String source() {
        return source;
    }

    /** Runs the script on whichever node holds the keys' slot; the connection's codec encodes keys and arguments. */
    @SafeVarargs
    public final <K, V, T> CompletableFuture<T> run(RedisAdvancedClusterAsyncCommands<K, V> redis, ScriptOutputType type,
                                                   K[] keys, V... args) {
        CompletableFuture<T> result = new CompletableFuture<>();
        RedisFuture<T> first = redis.evalsha(sha, type, keys, args);
        first.whenComplete((value, error) -> {
            if (error == null) {
                result.complete(value);
            } else if (String.valueOf(error.getMessage()).contains("NOSCRIPT")) {
                RedisFuture<T> second = redis.eval(source, type, keys, args);
                second.whenComplete((v, e) -> {
                    if (e == null) {
                        result.complete(v);
                    } else {
                        result.completeExceptionally(e);
                    }
                });
            } else {
                result.completeExceptionally(error);
            }
        });
        return result;
    }
}
