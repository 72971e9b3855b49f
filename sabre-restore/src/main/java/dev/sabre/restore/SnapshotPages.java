package dev.sabre.restore;

import dev.sabre.format.Extent;
import dev.sabre.format.PageKind;
import dev.sabre.format.SnapshotReader;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.atomic.LongAdder;

/**
 * A .sabre snapshot served page by page: a zero page goes in with UFFDIO_ZEROPAGE, a stored page by
 * decoding only the frame that holds it (checksum first). Each serving thread keeps its last few decoded
 * frames ({@link DecodedFrames}, which {@link #close} unmaps). Pages absent from the snapshot (a Diff or a
 * working set) come from {@code base} when there is one, else read as zeros.
 */
public final class SnapshotPages implements PageSource {
    private final SnapshotReader reader;
    private final PageSource base;
    private final LongAdder bytesRead = new LongAdder();
    private final DecodedFrames frames;

    private SnapshotPages(SnapshotReader reader, PageSource base) {
        this.reader = reader;
        this.base = base;
        this.frames = new DecodedFrames(reader.path().toString(), new DecodedFrames.Decoder() {
            @Override
            public long frameBytes(int frame) {
                return reader.frameBytes(frame);
            }

            @Override
            public long scratchBytes() {
                return Math.max(1, reader.maxStoredBytes());
            }

            @Override
            public void decode(int frame, MemorySegment raw, MemorySegment scratch) throws IOException {
                reader.readFrame(frame, raw, scratch);
                bytesRead.add(reader.frames().get(frame).storedLength());
            }
        });
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
        return frames.withFrame(stored.frame(), frame -> installer.copy(page * pageSize, frame.asSlice(slot * pageSize, pageSize)));
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
        return frames.cachedBytes();
    }

    /** Unmaps every thread's cache (waiting for a page being copied out of one), then closes the file. */
    @Override
    public void close() throws IOException {
        try {
            frames.close();
        } finally {
            reader.close();
        }
    }
}
