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
}
