package io.tally.redis;

import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.codec.ToByteBufEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

import java.nio.ByteBuffer;

/**
 * Keys as UTF-8 text, values as bytes, both written straight into the request buffer. What {@code RedisCodec.of(StringCodec.UTF8,
 * ByteArrayCodec.INSTANCE)} means, without its cost: a composed codec is not a {@link ToByteBufEncoder}, so Lettuce wraps every
 * argument in a {@link ByteBuffer} of its own (and every key in a scratch buffer) before copying it into the request — for a
 * batch's scripts, which carry hundreds of thousands of arguments, most of the client's allocation. The sizes are exact (a
 * key's UTF-8 length is counted, as Netty writes it), so each argument is written once, with its length in front.
 */
public final class TextKeysByteValues implements RedisCodec<String, byte[]>, ToByteBufEncoder<String, byte[]> {

    public static final TextKeysByteValues INSTANCE = new TextKeysByteValues();

    private TextKeysByteValues() {
    }

    @Override
    public String decodeKey(ByteBuffer bytes) {
        return StringCodec.UTF8.decodeKey(bytes);
    }

    @Override
    public byte[] decodeValue(ByteBuffer bytes) {
        return ByteArrayCodec.INSTANCE.decodeValue(bytes);
    }

    @Override
    public ByteBuffer encodeKey(String key) {
        return StringCodec.UTF8.encodeKey(key);
    }

    @Override
    public ByteBuffer encodeValue(byte[] value) {
        return ByteArrayCodec.INSTANCE.encodeValue(value);
    }

    @Override
    public void encodeKey(String key, ByteBuf target) {
        if (key != null) {
            ByteBufUtil.writeUtf8(target, key);
        }
    }

    @Override
    public void encodeValue(byte[] value, ByteBuf target) {
        if (value != null) {
            target.writeBytes(value);
        }
    }

    @Override
    public int estimateSize(Object keyOrValue) {
        if (keyOrValue instanceof byte[] bytes) {
            return bytes.length;
        }
        return keyOrValue == null ? 0 : ByteBufUtil.utf8Bytes((CharSequence) keyOrValue);
    }

    @Override
    public boolean isEstimateExact() {
        return true;
    }
}
