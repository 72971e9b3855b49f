package dev.sabre.codec;

import java.lang.foreign.MemorySegment;

/**
 * One compressor/decompressor pair for one algorithm and level.
 *
 * <p>Instances are cheap but not thread-safe (native contexts and Java match tables are reused between
 * calls): give each thread its own, e.g. through {@link Codecs#threadLocal}. Both heap and native
 * segments are accepted; lengths are whole segments, so callers slice instead of passing offsets.
 */
public interface Codec {
    CodecId id();

    int level();

    /** Which implementation does the work, e.g. "native libzstd" or "pure Java"; shown in reports. */
    String backend();

    /** The largest output {@link #compress} can produce for {@code rawLength} input bytes. */
    int maxCompressedLength(int rawLength);

    /**
     * Compresses all of {@code src} into the start of {@code dst}.
     *
     * @return the number of bytes written
     * @throws IllegalArgumentException if {@code dst} is smaller than {@link #maxCompressedLength}
     */
    int compress(MemorySegment src, MemorySegment dst);

    /**
     * Decompresses all of {@code src}, which must decode to exactly {@code dst.byteSize()} bytes.
     *
     * @throws CodecException if the input is malformed or decodes to another length
     */
    void decompress(MemorySegment src, MemorySegment dst) throws CodecException;

    /**
     * A codec like this one that stores literals raw where the algorithm can (zstd: no Huffman table per
     * frame). zstd rebuilds that table for every frame, which for a one-page frame is about a third of the
     * decode time; raw literals make such frames decode about 1.5x faster for about 10 % more bytes.
     * Streams stay standard and decode with any decoder. Codecs without the choice return themselves.
     */
    default Codec withRawLiterals() {
        return this;
    }

    /** Whether this codec stores literals raw (see {@link #withRawLiterals}). */
    default boolean rawLiterals() {
        return false;
    }

    default int compress(byte[] src, byte[] dst) {
        return compress(MemorySegment.ofArray(src), MemorySegment.ofArray(dst));
    }

    default void decompress(byte[] src, int srcLength, byte[] dst) throws CodecException {
        decompress(MemorySegment.ofArray(src).asSlice(0, srcLength), MemorySegment.ofArray(dst));
    }
}
