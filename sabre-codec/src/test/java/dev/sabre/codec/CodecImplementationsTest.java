package dev.sabre.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** Plugs every codec and backend into {@link CodecTestCase}; native output is checked by the Java decoder and back. */
class CodecImplementationsTest {
    @Nested
    class NativeZstd1 extends CodecTestCase {
        Codec codec() { return Codecs.create(CodecId.ZSTD, 1, "native"); }
        Codec independentDecoder() { return Codecs.create(CodecId.ZSTD, 3, "java"); }
    }

    @Nested
    class NativeZstd19 extends CodecTestCase {
        Codec codec() { return Codecs.create(CodecId.ZSTD, 19, "native"); }
        Codec independentDecoder() { return Codecs.create(CodecId.ZSTD, 3, "java"); }
    }

    @Nested
    class NativeZstd3RawLiterals extends CodecTestCase {
        Codec codec() { return Codecs.create(CodecId.ZSTD, 3, "native").withRawLiterals(); }
        Codec independentDecoder() { return Codecs.create(CodecId.ZSTD, 3, "java"); }
    }

    @Nested
    class JavaZstd extends CodecTestCase {
        Codec codec() { return Codecs.create(CodecId.ZSTD, 3, "java"); }
        Codec independentDecoder() { return Codecs.create(CodecId.ZSTD, 3, "native"); }
    }

    @Nested
    class NativeLz4 extends CodecTestCase {
        Codec codec() { return Codecs.create(CodecId.LZ4, 1, "native"); }
        Codec independentDecoder() { return Codecs.create(CodecId.LZ4, 1, "java"); }
    }

    @Nested
    class JavaLz4 extends CodecTestCase {
        Codec codec() { return Codecs.create(CodecId.LZ4, 1, "java"); }
        Codec independentDecoder() { return Codecs.create(CodecId.LZ4, 1, "native"); }
    }

    @Nested
    class NativeDeflate extends CodecTestCase {
        Codec codec() { return Codecs.create(CodecId.DEFLATE, 6, "native"); }
        Codec independentDecoder() { return Codecs.create(CodecId.DEFLATE, 6, "java"); }
    }

    @Nested
    class JavaDeflate extends CodecTestCase {
        Codec codec() { return Codecs.create(CodecId.DEFLATE, 1, "java"); }
        Codec independentDecoder() { return Codecs.create(CodecId.DEFLATE, 1, "native"); }
    }

    @Nested
    class None extends CodecTestCase {
        Codec codec() { return Codecs.create(CodecId.NONE, 0); }
        Codec independentDecoder() { return Codecs.decoder(CodecId.NONE); }
        @Override @Test void compressesRedundantPages() { } // passthrough never shrinks
        @Override @Test void refusesAnOutputBufferBelowTheBound() { }
    }

    @Test
    void nativeBackendIsAvailableOnThisMachine() {
        // The build runs with --enable-native-access; if this fails, every benchmark silently measures Java.
        assertNull(new NativeBackend().unavailableReason());
        assertEquals("native libzstd", Codecs.create(CodecId.ZSTD, 3).backend());
    }

    @Test
    void levelsAreValidatedWithTheLegalRange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Codecs.create(CodecId.ZSTD, 23));
        assertTrue(e.getMessage().contains("1..22"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Codecs.create(CodecId.ZSTD, 19, "java"));
        assertTrue(e.getMessage().contains("level 19"), e.getMessage());
    }

    @Test
    void unknownCodecNamesAreRejected() {
        assertEquals(CodecId.LZ4, CodecId.parse("LZ4"));
        assertThrows(IllegalArgumentException.class, () -> CodecId.parse("brotli"));
        assertNull(CodecId.fromWireId(99));
    }

    @Test
    void rawLiteralsTradeBytesForNoHuffmanTable() throws CodecException {
        // Text whose literals Huffman coding shrinks: raw literals must cost bytes, and decode the same.
        byte[] page = new byte[4096];
        java.util.Random random = new java.util.Random(3);
        for (int i = 0; i < page.length; i++) {
            page[i] = (byte) ('a' + random.nextInt(6));
        }
        Codec huffman = Codecs.create(CodecId.ZSTD, 3, "native");
        Codec raw = huffman.withRawLiterals();
        assertTrue(raw.rawLiterals() && !huffman.rawLiterals());
        byte[] a = new byte[huffman.maxCompressedLength(page.length)];
        byte[] b = new byte[raw.maxCompressedLength(page.length)];
        int huffmanBytes = huffman.compress(page, a);
        int rawBytes = raw.compress(page, b);
        assertTrue(rawBytes > huffmanBytes * 1.2, "raw literals " + rawBytes + " vs Huffman " + huffmanBytes);
        byte[] back = new byte[page.length];
        huffman.decompress(b, rawBytes, back);
        assertTrue(java.util.Arrays.equals(page, back));
        // Codecs without the choice ignore it.
        Codec lz4 = Codecs.create(CodecId.LZ4, 1);
        assertTrue(lz4.withRawLiterals() == lz4 && !lz4.rawLiterals());
    }
}
