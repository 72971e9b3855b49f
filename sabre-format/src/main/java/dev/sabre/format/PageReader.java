package dev.sabre.format;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Reads single pages or frames of one snapshot, one call at a time (not thread-safe), each read decoding its frame afresh (what a
 * lazy fault costs). Its two buffers, one decoded frame and one frame's stored bytes, are allocated on
 * first use and freed by {@link #close}: their lifetime is the caller's, not the garbage collector's.
 */
public final class PageReader implements AutoCloseable {
    private final SnapshotReader reader;
    private final Arena arena;
    private MemorySegment raw;
    private MemorySegment stored;

    /** Buffers come from {@code arena}, which this reader owns and closes. */
    PageReader(SnapshotReader reader, Arena arena) {
        this.reader = reader;
        this.arena = arena;
    }

    /**
     * Copies page {@code page} into {@code dst} (one page): zeros for zero pages, the page's bytes
     * otherwise, decoding only the frame that holds it.
     *
     * @throws IllegalArgumentException if the page is absent
     */
    public void readPage(long page, MemorySegment dst) throws IOException {
        Extent e = reader.extentOf(page);
        if (e == null) {
            throw new IllegalArgumentException("page " + page + " is absent from " + reader.path());
        }
        int pageSize = reader.header().pageSize();
        if (e.kind() == PageKind.ZERO) {
            dst.asSlice(0, pageSize).fill((byte) 0);
            return;
        }
        if (e.kind() == PageKind.COPY) {
            page = e.source() + (page - e.firstPage());
            e = reader.extentOf(page);
        }
        long slot = e.slot() + (page - e.firstPage());
        MemorySegment.copy(frame(e.frame()), slot * pageSize, dst, 0, pageSize);
    }

    /** Frame {@code index} read, checked and decoded; valid until the next call. */
    public MemorySegment frame(int index) throws IOException {
        if (raw == null) {
            raw = arena.allocate(Math.max(1, reader.maxFrameBytes()), 4096);
            stored = arena.allocate(Math.max(1, reader.maxStoredBytes()), 4096);
        }
        MemorySegment decoded = raw.asSlice(0, reader.frameBytes(index));
        reader.readFrame(index, decoded, stored);
        return decoded;
    }

    @Override
    public void close() {
        arena.close();
    }
}
