package dev.sabre.restore;

import dev.sabre.linux.Memory;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The last few frames each serving thread decoded, for page sources that serve faults a page at a time
 * ({@link SnapshotPages}, and a snapshot in a store): faults cluster, so the frame decoded for one fault
 * usually serves the next. Per thread at most {@value #CACHED_FRAMES} frames and {@link #CACHE_BYTES} bytes,
 * or one frame when a frame is larger. The buffers are mapped memory the owning source frees: the cache of
 * a thread that has ended is unmapped when the next thread makes its cache (a handler serves each VMM on a
 * thread of its own, so one VMM's caches end with it, not when the garbage collector gets round to them),
 * and {@link #close} unmaps the rest. Thread-safe.
 */
public final class DecodedFrames implements AutoCloseable {
    static final int CACHED_FRAMES = 8;
    /** A thread's cache holds at most this many decoded bytes, or one frame when a frame is larger. */
    static final long CACHE_BYTES = 16L << 20;

    /** How the owning source decodes its frames. */
    public interface Decoder {
        /** Raw size of frame {@code frame}. */
        long frameBytes(int frame);

        /** Scratch bytes a decode needs (0 for none): mapped once per thread, on its first decode. */
        long scratchBytes();

        /** Reads, checks and decodes frame {@code frame} into {@code raw} (exactly its raw size). */
        void decode(int frame, MemorySegment raw, MemorySegment scratch) throws IOException;
    }

    /** What is done with a decoded frame while it cannot be unmapped. */
    public interface Use<T> {
        T apply(MemorySegment frame) throws IOException;
    }

    private final String name;
    private final Decoder decoder;
    private final Queue<ThreadCache> caches = new ConcurrentLinkedQueue<>();
    private final ThreadLocal<ThreadCache> cache = ThreadLocal.withInitial(this::newCache);
    private volatile boolean closed;

    /** {@code name} says in errors which source was closed. */
    public DecodedFrames(String name, Decoder decoder) {
        this.name = name;
        this.decoder = decoder;
    }

    /**
     * Applies {@code use} to frame {@code frame}, decoded (or found in this thread's cache); the frame stays
     * mapped until {@code use} returns, so {@link #close} cannot unmap it under the caller.
     */
    public <T> T withFrame(int frame, Use<T> use) throws IOException {
        ThreadCache c = cache.get();
        synchronized (c) {
            return use.apply(c.frame(frame));
        }
    }

    /** Decoded bytes the serving threads' caches hold now (mapped, whether touched or not). */
    public long cachedBytes() {
        long total = 0;
        for (ThreadCache c : caches) {
            synchronized (c) {
                total += c.mappedBytes();
            }
        }
        return total;
    }

    /** Unmaps every thread's cache, waiting for a frame in use. */
    @Override
    public void close() throws IOException {
        closed = true;
        ThreadCache c;
        while ((c = caches.poll()) != null) {
            synchronized (c) {
                c.free();
            }
        }
    }

    private ThreadCache newCache() {
        for (ThreadCache old : caches) {
            if (!old.owner.isAlive() && caches.remove(old)) {
                synchronized (old) {
                    try {
                        old.free();
                    } catch (IOException e) {
                        // munmap of our own mapping cannot fail short of a bug; the range stays reserved
                    }
                }
            }
        }
        ThreadCache c = new ThreadCache();
        caches.add(c);
        if (closed) {
            caches.remove(c); // close() may have drained the queue already
        }
        return c;
    }

    /** One thread's frames, least recently used evicted first; guarded by its own lock. */
    private final class ThreadCache {
        private final Thread owner = Thread.currentThread();
        private final LinkedHashMap<Integer, MemorySegment> frames = new LinkedHashMap<>(16, 0.75f, true);
        private MemorySegment scratch;
        private long frameBytes;
        private boolean freed;

        MemorySegment frame(int index) throws IOException {
            if (closed || freed) {
                throw new IOException(name + ": page source closed");
            }
            long bytes = decoder.frameBytes(index);
            MemorySegment cached = frames.get(index);
            if (cached != null) {
                return cached.asSlice(0, bytes);
            }
            MemorySegment buffer = null;
            while (!frames.isEmpty() && (frames.size() >= CACHED_FRAMES
                    || frameBytes + (buffer == null ? bytes : 0) > CACHE_BYTES)) {
                Map.Entry<Integer, MemorySegment> eldest = frames.entrySet().iterator().next();
                frames.remove(eldest.getKey());
                MemorySegment old = eldest.getValue();
                if (buffer == null && old.byteSize() >= bytes) {
                    buffer = old; // reused: a mapping of the same size is the common case
                } else {
                    frameBytes -= old.byteSize();
                    Memory.munmap(old);
                }
            }
            if (buffer == null) {
                buffer = Memory.mapAnonymous(bytes);
                frameBytes += bytes;
            }
            if (scratch == null && decoder.scratchBytes() > 0) {
                scratch = Memory.mapAnonymous(decoder.scratchBytes());
            }
            MemorySegment raw = buffer.asSlice(0, bytes);
            try {
                decoder.decode(index, raw, scratch);
            } catch (IOException | RuntimeException e) {
                frameBytes -= buffer.byteSize();
                Memory.munmap(buffer);
                throw e;
            }
            frames.put(index, buffer);
            return raw;
        }

        long mappedBytes() {
            return frameBytes + (scratch != null ? scratch.byteSize() : 0);
        }

        void free() throws IOException {
            freed = true;
            for (MemorySegment m : frames.values()) {
                Memory.munmap(m);
            }
            frames.clear();
            frameBytes = 0;
            if (scratch != null) {
                Memory.munmap(scratch);
                scratch = null;
            }
        }
    }
}
