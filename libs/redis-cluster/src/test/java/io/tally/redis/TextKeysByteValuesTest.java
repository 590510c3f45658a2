package io.tally.redis;

import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.CommandArgs;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class TextKeysByteValuesTest {

    private static byte[] request(RedisCodec<String, byte[]> codec, List<String> keys, List<byte[]> values) {
        CommandArgs<String, byte[]> args = new CommandArgs<>(codec);
        keys.forEach(args::addKey);
        values.forEach(args::addValue);
        ByteBuf out = Unpooled.buffer();
        args.encode(out);
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        return bytes;
    }

    @Test
    void writesEveryKeyAndValueAsTheComposedCodecDoes() {
        RedisCodec<String, byte[]> composed = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);
        List<String> keys = List.of("", "tally:{t1:r}:w", "straße·東京·😀", "lone \uD800 surrogate", "tab\tand\u0000nul");
        List<byte[]> values = List.of(new byte[0], "12345".getBytes(StandardCharsets.US_ASCII), new byte[] {0, -1, 13, 10, 36},
            "ünïcödé".getBytes(StandardCharsets.UTF_8));
        byte[] expected = request(composed, keys, values);
        assertArrayEquals(expected, request(TextKeysByteValues.INSTANCE, keys, values));
        // Each argument once, with its exact length in bytes in front.
        String key = "straße·東京·😀";
        assertEquals("$" + key.getBytes(StandardCharsets.UTF_8).length + "\r\n" + key + "\r\n",
            new String(request(TextKeysByteValues.INSTANCE, List.of(key), List.of()), StandardCharsets.UTF_8));
    }

    @Test
    void readsKeysAsTextAndValuesAsBytes() {
        assertEquals("東京", TextKeysByteValues.INSTANCE.decodeKey(StandardCharsets.UTF_8.encode("東京")));
        assertArrayEquals(new byte[] {1, 2, 3}, TextKeysByteValues.INSTANCE.decodeValue(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3})));
    }
}
