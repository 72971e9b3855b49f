package dev.sabre.codec;

import io.airlift.compress.v3.deflate.DeflateJavaCompressor;
import io.airlift.compress.v3.deflate.DeflateJavaDecompressor;
import io.airlift.compress.v3.lz4.Lz4JavaCompressor;
import io.airlift.compress.v3.lz4.Lz4JavaDecompressor;
import io.airlift.compress.v3.zstd.ZstdJavaCompressor;
import io.airlift.compress.v3.zstd.ZstdJavaDecompressor;

/**
 * aircompressor's pure-Java codecs: always available, slower, and with fewer levels. Decoders read
 * any stream the native encoders write, so a snapshot packed natively restores anywhere.
 */
public final class JavaBackend implements CodecBackend {
    @Override
    public String name() {
        return "java";
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public String unavailableReason() {
        return null;
    }

    @Override
    public boolean supports(CodecId id, int level) {
        return switch (id) {
            case ZSTD -> level == 3; // aircompressor's Java encoder implements libzstd's default level only
            case LZ4 -> level == 1;
            case DEFLATE -> level >= 1 && level <= 9; // java.util.zip levels
            case NONE -> false;
        };
    }

    @Override
    public Codec create(CodecId id, int level) {
        if (!supports(id, level)) {
            throw new IllegalArgumentException("the pure-Java %s encoder cannot do level %d".formatted(id.label(), level));
        }
        return switch (id) {
            case ZSTD -> new AircompressorCodec(id, level, "pure Java", new ZstdJavaCompressor(), new ZstdJavaDecompressor());
            case LZ4 -> new AircompressorCodec(id, level, "pure Java", new Lz4JavaCompressor(), new Lz4JavaDecompressor());
            case DEFLATE -> new AircompressorCodec(id, level, "pure Java", new DeflateJavaCompressor(level), new DeflateJavaDecompressor());
            case NONE -> throw new IllegalArgumentException("the Java backend has no 'none' codec");
        };
    }
}
