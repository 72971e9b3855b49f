package dev.sabre.codec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.Supplier;

/**
 * Picks the best available implementation of a codec: the registered {@link CodecBackend} with the
 * highest priority that is available and supports the level (hardware, then native, then pure Java).
 */
public final class Codecs {
    private static final List<CodecBackend> BACKENDS = loadBackends();

    private Codecs() {
    }

    private static List<CodecBackend> loadBackends() {
        List<CodecBackend> found = new ArrayList<>();
        ServiceLoader.load(CodecBackend.class, Codecs.class.getClassLoader()).forEach(found::add);
        found.sort(Comparator.comparingInt(CodecBackend::priority).reversed());
        return List.copyOf(found);
    }

    /** Every registered backend, best first, whether available or not (see {@link CodecBackend#unavailableReason}). */
    public static List<CodecBackend> backends() {
        return BACKENDS;
    }

    /** A new codec for compressing at {@code level}; throws IllegalArgumentException saying why none can. */
    public static Codec create(CodecId id, int level) {
        id.checkLevel(level);
        if (id == CodecId.NONE) {
            return new NoneCodec();
        }
        StringBuilder why = new StringBuilder();
        for (CodecBackend backend : BACKENDS) {
            String reason = backend.unavailableReason();
            if (reason == null && backend.supports(id, level)) {
                return backend.create(id, level);
            }
            why.append("; ").append(backend.name()).append(": ")
                    .append(reason != null ? reason : "does not support level " + level);
        }
        throw new IllegalArgumentException("no backend can compress %s at level %d%s".formatted(id.label(), level, why));
    }

    /** A new codec from the named backend only (benchmarks compare backends this way). */
    public static Codec create(CodecId id, int level, String backendName) {
        id.checkLevel(level);
        if (id == CodecId.NONE) {
            return new NoneCodec();
        }
        for (CodecBackend backend : BACKENDS) {
            if (backend.name().equals(backendName)) {
                String reason = backend.unavailableReason();
                if (reason != null) {
                    throw new IllegalArgumentException("codec backend '" + backendName + "' is unavailable: " + reason);
                }
                return backend.create(id, level);
            }
        }
        throw new IllegalArgumentException("unknown codec backend '" + backendName + "'");
    }

    /**
     * A new codec for decoding {@code id} streams. Decoders do not depend on the level a stream was
     * written at, so this succeeds wherever any backend for the algorithm is available.
     */
    public static Codec decoder(CodecId id) {
        if (id == CodecId.NONE) {
            return new NoneCodec();
        }
        for (CodecBackend backend : BACKENDS) {
            if (backend.unavailableReason() == null) {
                for (int level : new int[] {id.defaultLevel(), 1, 3}) {
                    if (backend.supports(id, level)) {
                        return backend.create(id, level);
                    }
                }
            }
        }
        throw new IllegalStateException("no backend can decode " + id.label());
    }

    /** One codec per thread, made on first use by {@code factory}: codecs are not thread-safe. */
    public static ThreadLocal<Codec> threadLocal(Supplier<Codec> factory) {
        return ThreadLocal.withInitial(factory);
    }
}
