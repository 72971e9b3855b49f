package dev.sabre.codec;

import io.airlift.compress.v3.internal.NativeLoader;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Cleaner;

/**
 * zstd through libzstd with one compression and one decompression context per codec, reused across
 * calls. aircompressor's native zstd calls the one-shot ZSTD_compress/ZSTD_decompress, which build and
 * free a context every time: for a 4 KiB page that costs more than decoding it. The library is the one aircompressor bundles, loaded through aircompressor's own loader.
 */
final class ZstdContextCodec implements Codec {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final Bindings BINDINGS = Bindings.load();

    /** ZSTD_c_compressionLevel, and the experimental ZSTD_c_literalCompressionMode with ZSTD_ps_disable. */
    private static final int PARAM_LEVEL = 100, PARAM_LITERAL_MODE = 1002, LITERALS_RAW = 2;

    private final int level;
    private final boolean rawLiterals;
    private final Contexts contexts;
    /** Native staging for heap inputs and outputs: the downcalls take native memory only. */
    private MemorySegment stagingIn = MemorySegment.NULL;
    private MemorySegment stagingOut = MemorySegment.NULL;
    private final Arena staging = Arena.ofAuto();

    /** Null when libzstd could not be bound, with the reason. */
    static String unavailableReason() {
        return BINDINGS.error;
    }

    ZstdContextCodec(int level) {
        this(level, false);
    }

    private ZstdContextCodec(int level, boolean rawLiterals) {
        if (BINDINGS.error != null) {
            throw new IllegalStateException(BINDINGS.error);
        }
        this.level = level;
        this.rawLiterals = rawLiterals;
        this.contexts = new Contexts(level, rawLiterals);
        CLEANER.register(this, contexts);
    }

    @Override
    public CodecId id() {
        return CodecId.ZSTD;
    }

    @Override
    public int level() {
        return level;
    }

    @Override
    public String backend() {
        return "native libzstd";
    }

    @Override
    public Codec withRawLiterals() {
        return rawLiterals ? this : new ZstdContextCodec(level, true);
    }

    @Override
    public boolean rawLiterals() {
        return rawLiterals;
    }

    @Override
    public int maxCompressedLength(int rawLength) {
        try {
            return Math.toIntExact((long) BINDINGS.compressBound.invokeExact((long) rawLength));
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public int compress(MemorySegment src, MemorySegment dst) {
        int bound = maxCompressedLength(Math.toIntExact(src.byteSize()));
        if (dst.byteSize() < bound) {
            throw new IllegalArgumentException("output buffer of %d bytes is smaller than the bound %d".formatted(dst.byteSize(), bound));
        }
        MemorySegment in = nativeInput(src);
        MemorySegment out = dst.isNative() ? dst : stagingOut(dst.byteSize());
        long written;
        try {
            // The level and literal mode are set once on the context (see Contexts); they stick across calls.
            written = (long) BINDINGS.compress2.invokeExact(contexts.cctx(), out, out.byteSize(), in, in.byteSize());
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        checkError(written, "compress");
        if (out != dst) {
            MemorySegment.copy(out, 0, dst, 0, written);
        }
        return (int) written;
    }

    @Override
    public void decompress(MemorySegment src, MemorySegment dst) throws CodecException {
        MemorySegment in = nativeInput(src);
        MemorySegment out = dst.isNative() ? dst : stagingOut(dst.byteSize());
        long written;
        try {
            written = (long) BINDINGS.decompressDCtx.invokeExact(contexts.dctx(), out, out.byteSize(), in, in.byteSize());
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (isError(written)) {
            throw new CodecException("zstd stream of %d bytes is malformed: %s".formatted(src.byteSize(), errorName(written)));
        }
        if (written != dst.byteSize()) {
            throw new CodecException("zstd stream of %d bytes decoded to %d bytes, expected %d"
                    .formatted(src.byteSize(), written, dst.byteSize()));
        }
        if (out != dst) {
            MemorySegment.copy(out, 0, dst, 0, written);
        }
    }

    private MemorySegment nativeInput(MemorySegment src) {
        if (src.isNative()) {
            return src;
        }
        if (stagingIn.byteSize() < src.byteSize()) {
            stagingIn = staging.allocate(src.byteSize(), 64);
        }
        MemorySegment in = stagingIn.asSlice(0, src.byteSize());
        MemorySegment.copy(src, 0, in, 0, src.byteSize());
        return in;
    }

    private MemorySegment stagingOut(long size) {
        if (stagingOut.byteSize() < size) {
            stagingOut = staging.allocate(size, 64);
        }
        return stagingOut.asSlice(0, size);
    }

    private static void checkError(long code, String what) {
        if (isError(code)) {
            throw new IllegalStateException("ZSTD_" + what + " failed: " + errorName(code));
        }
    }

    private static boolean isError(long code) {
        try {
            return (int) BINDINGS.isError.invokeExact(code) != 0;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static String errorName(long code) {
        try {
            return ((MemorySegment) BINDINGS.getErrorName.invokeExact(code)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "error " + code;
        }
    }

    /** The native contexts, created on first use and freed by the cleaner when the codec is unreachable. */
    private static final class Contexts implements Runnable {
        private final int level;
        private final boolean rawLiterals;
        private MemorySegment cctx = MemorySegment.NULL;
        private MemorySegment dctx = MemorySegment.NULL;

        Contexts(int level, boolean rawLiterals) {
            this.level = level;
            this.rawLiterals = rawLiterals;
        }

        MemorySegment cctx() throws Throwable {
            if (cctx.equals(MemorySegment.NULL)) {
                MemorySegment created = (MemorySegment) BINDINGS.createCCtx.invokeExact();
                if (created.equals(MemorySegment.NULL)) {
                    throw new OutOfMemoryError("ZSTD_createCCtx");
                }
                try {
                    checkError((long) BINDINGS.setParameter.invokeExact(created, PARAM_LEVEL, level),
                            "CCtx_setParameter(level)");
                    if (rawLiterals) {
                        checkError((long) BINDINGS.setParameter.invokeExact(created, PARAM_LITERAL_MODE, LITERALS_RAW),
                                "CCtx_setParameter(literal compression mode)");
                    }
                } catch (Throwable t) {
                    // Never keep a half-configured context: the next call would compress with other settings.
                    long ignored = (long) BINDINGS.freeCCtx.invokeExact(created);
                    throw t;
                }
                cctx = created;
            }
            return cctx;
        }

        MemorySegment dctx() throws Throwable {
            if (dctx.equals(MemorySegment.NULL)) {
                dctx = (MemorySegment) BINDINGS.createDCtx.invokeExact();
                if (dctx.equals(MemorySegment.NULL)) {
                    throw new OutOfMemoryError("ZSTD_createDCtx");
                }
            }
            return dctx;
        }

        @Override
        public void run() {
            try {
                if (!cctx.equals(MemorySegment.NULL)) {
                    long ignored = (long) BINDINGS.freeCCtx.invokeExact(cctx);
                }
                if (!dctx.equals(MemorySegment.NULL)) {
                    long ignored = (long) BINDINGS.freeDCtx.invokeExact(dctx);
                }
            } catch (Throwable ignored) {
                // Freeing at exit or GC time: nothing useful to do with a failure.
            }
        }
    }

    /** Method handles into the bundled libzstd; {@code error} says why they are missing, if they are. */
    private static final class Bindings {
        MethodHandle createCCtx, freeCCtx, setParameter, compress2, createDCtx, freeDCtx, decompressDCtx, compressBound, isError, getErrorName;
        String error;
        /** Keeps the library loaded for as long as the handles into it live. */
        SymbolLookup library;

        static Bindings load() {
            Bindings b = new Bindings();
            try {
                // aircompressor's own loader, as its ZstdNative uses it: it knows the platform's bundled file,
                // honours io.airlift.compress.v3.disable-native and aircompressor.tmpdir, and says why it failed.
                SymbolLookup lookup = NativeLoader.loadLibrary("zstd");
                b.library = lookup;
                Linker linker = Linker.nativeLinker();
                ValueLayout.OfLong sizeT = ValueLayout.JAVA_LONG;
                b.createCCtx = linker.downcallHandle(lookup.findOrThrow("ZSTD_createCCtx"), FunctionDescriptor.of(ValueLayout.ADDRESS));
                b.freeCCtx = linker.downcallHandle(lookup.findOrThrow("ZSTD_freeCCtx"), FunctionDescriptor.of(sizeT, ValueLayout.ADDRESS));
                b.setParameter = linker.downcallHandle(lookup.findOrThrow("ZSTD_CCtx_setParameter"), FunctionDescriptor.of(sizeT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                b.compress2 = linker.downcallHandle(lookup.findOrThrow("ZSTD_compress2"), FunctionDescriptor.of(sizeT,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS, sizeT, ValueLayout.ADDRESS, sizeT));
                b.createDCtx = linker.downcallHandle(lookup.findOrThrow("ZSTD_createDCtx"), FunctionDescriptor.of(ValueLayout.ADDRESS));
                b.freeDCtx = linker.downcallHandle(lookup.findOrThrow("ZSTD_freeDCtx"), FunctionDescriptor.of(sizeT, ValueLayout.ADDRESS));
                b.decompressDCtx = linker.downcallHandle(lookup.findOrThrow("ZSTD_decompressDCtx"), FunctionDescriptor.of(sizeT,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS, sizeT, ValueLayout.ADDRESS, sizeT));
                b.compressBound = linker.downcallHandle(lookup.findOrThrow("ZSTD_compressBound"), FunctionDescriptor.of(sizeT, sizeT));
                b.isError = linker.downcallHandle(lookup.findOrThrow("ZSTD_isError"), FunctionDescriptor.of(ValueLayout.JAVA_INT, sizeT));
                b.getErrorName = linker.downcallHandle(lookup.findOrThrow("ZSTD_getErrorName"), FunctionDescriptor.of(ValueLayout.ADDRESS, sizeT));
            } catch (Throwable t) {
                b.error = "cannot bind libzstd with reusable contexts: " + t.getMessage();
            }
            return b;
        }
    }
}
