package dev.sabre.codec;

import java.lang.foreign.MemorySegment;

/** The identity codec: passthrough frames, and the raw fallback when compression does not pay. */
final class NoneCodec implements Codec {
    @Override
    public CodecId id() {
        return CodecId.NONE;
    }

    @Override
    public int level() {
        return 0;
    }

    @Override
    public String backend() {
        return "copy";
    }

    @Override
    public int maxCompressedLength(int rawLength) {
        return rawLength;
    }

    @Override
    public int compress(MemorySegment src, MemorySegment dst) {
        MemorySegment.copy(src, 0, dst, 0, src.byteSize());
        return Math.toIntExact(src.byteSize());
    }

    @Override
    public void decompress(MemorySegment src, MemorySegment dst) throws CodecException {
        if (src.byteSize() != dst.byteSize()) {
            throw new CodecException("none (raw) stream holds %d bytes, expected %d".formatted(src.byteSize(), dst.byteSize()));
        }
        MemorySegment.copy(src, 0, dst, 0, src.byteSize());
    }
}
