package dev.sabre.codec;

import io.airlift.compress.v3.Compressor;
import io.airlift.compress.v3.Decompressor;
import java.lang.foreign.MemorySegment;

/** Adapts one aircompressor compressor/decompressor pair (native or pure Java) to {@link Codec}. */
final class AircompressorCodec implements Codec {
    private final CodecId id;
    private final int level;
    private final String backend;
    private final Compressor compressor;
    private final Decompressor decompressor;

    AircompressorCodec(CodecId id, int level, String backend, Compressor compressor, Decompressor decompressor) {
        this.id = id;
        this.level = level;
        this.backend = backend;
        this.compressor = compressor;
        this.decompressor = decompressor;
    }

    @Override
    public CodecId id() {
        return id;
    }

    @Override
    public int level() {
        return level;
    }

    @Override
    public String backend() {
        return backend;
    }

    @Override
    public int maxCompressedLength(int rawLength) {
        return compressor.maxCompressedLength(rawLength);
    }

    @Override
    public int compress(MemorySegment src, MemorySegment dst) {
        int bound = maxCompressedLength(Math.toIntExact(src.byteSize()));
        if (dst.byteSize() < bound) {
            throw new IllegalArgumentException("output buffer of %d bytes is smaller than the bound %d"
                    .formatted(dst.byteSize(), bound));
        }
        return compressor.compress(src, dst);
    }

    @Override
    public void decompress(MemorySegment src, MemorySegment dst) throws CodecException {
        int written;
        try {
            written = decompressor.decompress(src, dst);
        } catch (RuntimeException e) {
            // Malformed input surfaces from the libraries as several unchecked types (MalformedInputException,
            // IllegalArgumentException from native error codes, IndexOutOfBounds from Java decoders): all of
            // them mean "this stream is bad", never a bug the caller could act on differently.
            throw new CodecException("%s stream of %d bytes is malformed: %s"
                    .formatted(id.label(), src.byteSize(), e.getMessage()), e);
        }
        if (written != dst.byteSize()) {
            throw new CodecException("%s stream of %d bytes decoded to %d bytes, expected %d"
                    .formatted(id.label(), src.byteSize(), written, dst.byteSize()));
        }
    }
}
