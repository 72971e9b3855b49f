package dev.sabre.restore;

import dev.sabre.format.Extent;
import dev.sabre.format.PageKind;
import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.Memory;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAdder;

/**
 * A .sabre snapshot served page by page: a zero page goes in with UFFDIO_ZEROPAGE, a stored page by
 * decoding only the frame that holds it (checksum first). Each serving thread keeps its last few decoded
 * frames, because faults cluster: at most {@value #CACHED_FRAMES} frames and {@link #CACHE_BYTES} bytes,
 * or one frame when a frame is larger. Those buffers are mapped memory this source owns: the cache of a
 * thread that has ended is unmapped when the next thread makes its cache (a handler serves each VMM on a
 * thread of its own, so one VMM's caches end with it, not when the garbage collector gets round to them),
 * and {@link #close} unmaps the rest. Pages absent from the snapshot (a Diff or a working set) come from {@code base}
 * when there is one, else read as zeros.
 */
public final class SnapshotPages implements PageSource {
    private static final int CACHED_FRAMES = 8;
    /** A thread's cache holds at most this many decoded bytes, or one frame when a frame is larger. */
    static final long CACHE_BYTES = 16L << 20;

    private final SnapshotReader reader;
    private final PageSource base;
    private final LongAdder bytesRead = new LongAdder();
    private final Queue<FrameCache> caches = new ConcurrentLinkedQueue<>();
    private final ThreadLocal<FrameCache> cache = ThreadLocal.withInitial(this::newCache);
    private volatile boolean closed;

    private SnapshotPages(SnapshotReader reader, PageSource base) {
        this.reader = reader;
        this.base = base;
    }

    /**
     * Opens {@code snapshot} (its metadata fully validated); {@code base} (may be null; the caller keeps
     * owning it) serves the pages the snapshot does not hold and must describe the same memory size.
     */
    public static SnapshotPages open(Path snapshot, PageSource base) throws IOException {
        SnapshotReader reader = SnapshotReader.open(snapshot);
        if (base != null && base.memorySize() != reader.header().memorySize()) {
            long size = reader.header().memorySize();
            reader.close();
            throw new IOException(snapshot + ": describes " + size + " bytes of memory but its base has "
                    + base.memorySize());
        }
        return new SnapshotPages(reader, base);
    }

    public SnapshotReader reader() {
        return reader;
    }

    @Override
    public int pageSize() {
        return reader.header().pageSize();
    }

    @Override
    public long memorySize() {
        return reader.header().memorySize();
    }

    @Override
    public long serve(long page, Installer installer) throws IOException {
        int pageSize = pageSize();
        Extent e = reader.extentOf(page);
        if (e == null) {
            return base != null ? base.serve(page, installer) : installer.zero(page * pageSize, pageSize);
        }
        if (e.kind() == PageKind.ZERO) {
            return installer.zero(page * pageSize, pageSize);
        }
        long sourcePage = e.kind() == PageKind.COPY ? e.source() + (page - e.firstPage()) : page;
        Extent stored = e.kind() == PageKind.COPY ? reader.extentOf(sourcePage) : e;
        long slot = stored.slot() + (sourcePage - stored.firstPage());
        FrameCache frames = cache.get();
        // Held while the page is copied out, so close() cannot unmap the frame under this thread.
        synchronized (frames) {
            MemorySegment frame = frames.frame(stored.frame());
            return installer.copy(page * pageSize, frame.asSlice(slot * pageSize, pageSize));
        }
    }

    /**
     * Serves the run frame by frame (zero and absent pages first), so each frame it needs is decoded once
     * whatever the thread's cache holds: a duplicate page may point back at a frame the cache has evicted.
     * A 2 MiB huge page is assembled this way.
     */
    @Override
    public long serveRun(long firstPage, long count, Installer installer) throws IOException {
        long[] order = new long[Math.toIntExact(count)];
        for (int i = 0; i < order.length; i++) {
            order[i] = ((long) (reader.frameOf(firstPage + i) + 1) << 32) | i;
        }
        java.util.Arrays.sort(order);
        long installed = 0;
        for (long key : order) {
            installed += serve(firstPage + (key & 0xffffffffL), installer);
        }
        return installed;
    }

    @Override
    public long bytesRead() {
        return bytesRead.sum() + (base != null ? base.bytesRead() : 0);
    }

    /** Decoded bytes the serving threads' caches hold now (mapped, whether touched or not). */
    public long cachedBytes() {
        long total = 0;
        for (FrameCache c : caches) {
            synchronized (c) {
                total += c.mappedBytes();
            }
        }
        return total;
    }

    /** Unmaps every thread's cache (waiting for a page being copied out of one), then closes the file. */
    @Override
    public void close() throws IOException {
        closed = true;
        FrameCache c;
        while ((c = caches.poll()) != null) {
            synchronized (c) {
                c.free();
            }
        }
        reader.close();
    }

    private FrameCache newCache() {
        for (FrameCache old : caches) {
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
        FrameCache c = new FrameCache();
        caches.add(c);
        if (closed) {
            caches.remove(c); // close() may have drained the queue already
        }
        return c;
    }

    /** The last few frames one thread decoded, least recently used evicted first; guarded by its own lock. */
    private final class FrameCache {
        private final Thread owner = Thread.currentThread();
        private final LinkedHashMap<Integer, MemorySegment> frames = new LinkedHashMap<>(16, 0.75f, true);
        private MemorySegment stored;
        private long frameBytes;
        private boolean freed;

        MemorySegment frame(int index) throws IOException {
            if (closed || freed) {
                throw new IOException(reader.path() + ": page source closed");
            }
            MemorySegment cached = frames.get(index);
            if (cached != null) {
                return cached.asSlice(0, reader.frameBytes(index));
            }
            long bytes = reader.frameBytes(index);
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
            if (stored == null) {
                stored = Memory.mapAnonymous(Math.max(1, reader.maxStoredBytes()));
            }
            MemorySegment raw = buffer.asSlice(0, bytes);
            try {
                reader.readFrame(index, raw, stored);
            } catch (IOException | RuntimeException e) {
                frameBytes -= buffer.byteSize();
                Memory.munmap(buffer);
                throw e;
            }
            bytesRead.add(reader.frames().get(index).storedLength());
            frames.put(index, buffer);
            return raw;
        }

        long mappedBytes() {
            return frameBytes + (stored != null ? stored.byteSize() : 0);
        }

        void free() throws IOException {
            freed = true;
            for (MemorySegment m : frames.values()) {
                Memory.munmap(m);
            }
            frames.clear();
            frameBytes = 0;
            if (stored != null) {
                Memory.munmap(stored);
                stored = null;
            }
        }
    }
}
