package dev.sabre.codec;

import io.airlift.compress.v3.deflate.DeflateNativeCompressor;
import io.airlift.compress.v3.deflate.DeflateNativeDecompressor;
import io.airlift.compress.v3.lz4.Lz4NativeCompressor;
import io.airlift.compress.v3.lz4.Lz4NativeDecompressor;
import io.airlift.compress.v3.zstd.ZstdNativeCompressor;
import io.airlift.compress.v3.zstd.ZstdNativeDecompressor;

/** libzstd, liblz4 and libdeflate as bundled by aircompressor and called through FFM. */
public final class NativeBackend implements CodecBackend {
    /** Set to "false" to force the pure-Java codecs (aircompressor's own switch is honoured too). */
    public static final String ENABLE_PROPERTY = "sabre.codec.native";

    @Override
    public String name() {
        return "native";
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public String unavailableReason() {
        if ("false".equalsIgnoreCase(System.getProperty(ENABLE_PROPERTY))) {
            return "native codecs disabled by -D" + ENABLE_PROPERTY + "=false";
        }
        try {
            if (!ZstdNativeDecompressor.isEnabled() || !Lz4NativeDecompressor.isEnabled()
                    || !DeflateNativeDecompressor.isEnabled()) {
                return "aircompressor could not load its bundled native libraries on "
                        + System.getProperty("os.name") + "/" + System.getProperty("os.arch")
                        + " (is --enable-native-access=ALL-UNNAMED set?)";
            }
        } catch (LinkageError e) {
            return "native libraries failed to link: " + e.getMessage();
        }
        return null;
    }

    @Override
    public boolean supports(CodecId id, int level) {
        return id != CodecId.NONE;
    }

    @Override
    public Codec create(CodecId id, int level) {
        id.checkLevel(level);
        return switch (id) {
            case ZSTD -> ZstdContextCodec.unavailableReason() == null ? new ZstdContextCodec(level)
                    : new AircompressorCodec(id, level, "native libzstd (one-shot)", new ZstdNativeCompressor(level),
                            new ZstdNativeDecompressor());
            case LZ4 -> new AircompressorCodec(id, level, "native liblz4",
                    new Lz4NativeCompressor(level), new Lz4NativeDecompressor());
            case DEFLATE -> new AircompressorCodec(id, level, "native libdeflate",
                    new DeflateNativeCompressor(level), new DeflateNativeDecompressor());
            case NONE -> throw new IllegalArgumentException("the native backend has no 'none' codec");
        };
    }
}
