package dev.sabre.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The one test every codec and backend must pass (the Lucene habit: concrete tests only plug in a codec).
 * Inputs model guest pages: text, random bytes, sparse structures, tiny and frame-sized buffers.
 */
abstract class CodecTestCase {
    /** The codec under test, a fresh instance per call. */
    abstract Codec codec();

    /** An independent decoder of the same algorithm (another backend) to check the stream format. */
    abstract Codec independentDecoder();

    static Stream<byte[]> inputs() {
        Random random = new Random(42);
        byte[] randomBytes = new byte[16384];
        random.nextBytes(randomBytes);
        byte[] text = "{\"id\": 12345, \"name\": \"record\", \"tags\": [\"a\", \"b\"]}\n".repeat(300)
                .getBytes(StandardCharsets.UTF_8);
        byte[] sparse = new byte[4096 * 4];
        for (int i = 0; i < sparse.length; i += 64) {
            sparse[i] = (byte) (i >> 6);
        }
        byte[] filled = new byte[4096];
        Arrays.fill(filled, (byte) 0xAB);
        return Stream.of(new byte[1], new byte[] {7, 7, 7}, randomBytes, text, sparse, filled, new byte[65536],
                Arrays.copyOf(randomBytes, 4096));
    }

    @ParameterizedTest
    @MethodSource("inputs")
    void roundTripsHeapSegments(byte[] input) throws CodecException {
        Codec codec = codec();
        byte[] compressed = new byte[codec.maxCompressedLength(input.length)];
        int length = codec.compress(input, compressed);
        assertTrue(length > 0 && length <= compressed.length);
        byte[] output = new byte[input.length];
        codec.decompress(compressed, length, output);
        assertArrayEquals(input, output);
    }

    @ParameterizedTest
    @MethodSource("inputs")
    void roundTripsNativeSegments(byte[] input) throws CodecException {
        Codec codec = codec();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(input.length);
            src.copyFrom(MemorySegment.ofArray(input));
            MemorySegment dst = arena.allocate(codec.maxCompressedLength(input.length));
            int length = codec.compress(src, dst);
            MemorySegment out = arena.allocate(input.length);
            codec.decompress(dst.asSlice(0, length), out);
            assertEquals(-1, out.mismatch(src));
        }
    }

    @ParameterizedTest
    @MethodSource("inputs")
    void streamIsReadableByAnIndependentImplementation(byte[] input) throws CodecException {
        Codec codec = codec();
        byte[] compressed = new byte[codec.maxCompressedLength(input.length)];
        int length = codec.compress(input, compressed);
        byte[] output = new byte[input.length];
        independentDecoder().decompress(compressed, length, output);
        assertArrayEquals(input, output);
    }

    @Test
    void compressesRedundantPages() {
        Codec codec = codec();
        byte[] text = inputs().toList().get(3);
        byte[] compressed = new byte[codec.maxCompressedLength(text.length)];
        assertTrue(codec.compress(text, compressed) < text.length / 4, "text should shrink at least 4x");
    }

    @Test
    void rejectsADecodeToTheWrongLength() {
        Codec codec = codec();
        byte[] text = inputs().toList().get(3);
        byte[] compressed = new byte[codec.maxCompressedLength(text.length)];
        int length = codec.compress(text, compressed);
        assertThrows(CodecException.class, () -> codec.decompress(compressed, length, new byte[text.length - 1]));
        assertThrows(CodecException.class, () -> codec.decompress(compressed, length, new byte[text.length + 4096]));
    }

    @Test
    void rejectsGarbageAndTruncatedStreamsWithoutCrashing() {
        Codec codec = codec();
        Random random = new Random(7);
        byte[] text = inputs().toList().get(3);
        byte[] compressed = new byte[codec.maxCompressedLength(text.length)];
        int length = codec.compress(text, compressed);
        for (int trial = 0; trial < 300; trial++) {
            byte[] bad = Arrays.copyOf(compressed, length);
            int cut = trial % 3 == 0 ? random.nextInt(length) : length;
            if (trial % 3 != 0) {
                bad[random.nextInt(length)] ^= (byte) (1 + random.nextInt(255));
            }
            byte[] output = new byte[text.length];
            if (cut < length) {
                // A truncated stream cannot hold the whole input: decoding it must fail, never return garbage.
                int truncated = cut;
                CodecException e = assertThrows(CodecException.class, () -> codec.decompress(bad, truncated, output),
                        "a stream cut at " + cut + " of " + length + " bytes decoded without an error");
                assertTrue(e.getMessage().contains(codec.id().label()), e.getMessage());
                continue;
            }
            try {
                codec.decompress(bad, cut, output);
                // A flipped literal can still decode to the right length: that is what the frame CRC is for.
            } catch (CodecException expected) {
                assertTrue(expected.getMessage().contains(codec.id().label()), expected.getMessage());
            }
        }
    }

    @Test
    void refusesAnOutputBufferBelowTheBound() {
        Codec codec = codec();
        byte[] input = new byte[4096];
        assertThrows(IllegalArgumentException.class, () -> codec.compress(input, new byte[16]));
    }
}
