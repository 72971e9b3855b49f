package dev.sabre.restore;

import dev.sabre.format.Extent;
import dev.sabre.format.PageKind;
import dev.sabre.format.SnapshotReader;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * A .sabre snapshot served page by page: a zero page goes in with UFFDIO_ZEROPAGE, a stored page by
 * decoding only the frame that holds it (checksum first). Each serving thread keeps its last few decoded
 * frames, because faults cluster. Pages absent from the snapshot (a Diff or a working set) come from
 * {@code base} when there is one, else read as zeros.
 */
public final class SnapshotPages implements PageSource {
    private static final int CACHED_FRAMES = 8;

    private final SnapshotReader reader;
    private final PageSource base;
    private final LongAdder bytesRead = new LongAdder();
    private final ThreadLocal<FrameCache> cache = ThreadLocal.withInitial(FrameCache::new);

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
        MemorySegment frame = cache.get().frame(stored.frame());
        return installer.copy(page * pageSize, frame.asSlice(slot * pageSize, pageSize));
    }

    @Override
    public long bytesRead() {
        return bytesRead.sum() + (base != null ? base.bytesRead() : 0);
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }

    /** The last few frames this thread decoded, least recently used evicted first. */
    private final class FrameCache {
        private final Arena arena = Arena.ofAuto();
        private final LinkedHashMap<Integer, MemorySegment> frames = new LinkedHashMap<>(16, 0.75f, true);

        MemorySegment frame(int index) throws IOException {
            MemorySegment cached = frames.get(index);
            if (cached != null) {
                return cached;
            }
            long bytes = reader.frameBytes(index);
            MemorySegment buffer = null;
            if (frames.size() >= CACHED_FRAMES) {
                Map.Entry<Integer, MemorySegment> eldest = frames.entrySet().iterator().next();
                frames.remove(eldest.getKey());
                if (eldest.getValue().byteSize() >= bytes) {
                    buffer = eldest.getValue();
                }
            }
            if (buffer == null) {
                buffer = arena.allocate(bytes, 4096);
            }
            MemorySegment raw = buffer.asSlice(0, bytes);
            reader.readFrame(index, raw);
            bytesRead.add(reader.frames().get(index).storedLength());
            frames.put(index, buffer);
            return raw;
        }
    }
}
