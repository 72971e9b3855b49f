package dev.sabre.store;

import dev.sabre.format.Extent;
import dev.sabre.format.MemoryImage;
import dev.sabre.format.PageKind;
import dev.sabre.format.PageRun;
import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.SparseFile;
import dev.sabre.restore.PageSource;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The memory a push reads: a raw memory file (holes read as zeros), a sparse Diff file (holes are
 * absent pages) or a .sabre snapshot, read through its random-access API. Thread-safe.
 */
public interface PageInput extends AutoCloseable {
    int pageSize();

    long memorySize();

    /** Runs of pages that belong to the snapshot, ascending. */
    List<PageRun> present();

    /**
     * The bytes of present page {@code page}, or null when it is known to be zero without reading it (a hole,
     * a zero page of a .sabre file). The segment is valid until this thread's next call.
     */
    MemorySegment page(long page) throws IOException;

    @Override
    void close() throws IOException;

    /** Opens {@code file}: a .sabre snapshot when it starts with the snapshot magic, else raw memory ({@code diff}: a sparse Diff file). */
    public static PageInput open(Path file, boolean diff) throws IOException {
        if (PageSource.isSnapshot(file)) {
            if (diff) {
                throw new IllegalArgumentException(file + " is a .sabre snapshot; --diff is for sparse raw Diff files");
            }
            return new Snapshot(SnapshotReader.open(file));
        }
        List<long[]> extents = SparseFile.dataExtents(file).stream().map(e -> new long[] {e.offset(), e.length()}).toList();
        return new Raw(MemoryImage.open(file, 4096, extents, !diff));
    }

    /** A raw memory file, mapped read-only; holes are never read. */
    final class Raw implements PageInput {
        private final MemoryImage image;

        Raw(MemoryImage image) {
            this.image = image;
        }

        @Override
        public int pageSize() {
            return image.pageSize();
        }

        @Override
        public long memorySize() {
            return image.memorySize();
        }

        @Override
        public List<PageRun> present() {
            return image.present();
        }

        @Override
        public MemorySegment page(long page) {
            return image.hasData(page) ? image.page(page) : null;
        }

        @Override
        public void close() {
            image.close();
        }
    }

    /** A .sabre snapshot; each thread keeps the last frame it decoded, since pages are read in address order. */
    final class Snapshot implements PageInput {
        private final SnapshotReader reader;
        private final ThreadLocal<int[]> lastFrame = ThreadLocal.withInitial(() -> new int[] {-1});
        private final ThreadLocal<MemorySegment> frameBuffer;

        Snapshot(SnapshotReader reader) {
            this.reader = reader;
            this.frameBuffer = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(Math.max(reader.maxFrameBytes(), 1), 4096));
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
        public List<PageRun> present() {
            List<PageRun> runs = new ArrayList<>();
            for (Extent e : reader.extents()) {
                if (!runs.isEmpty() && runs.getLast().endPage() == e.firstPage()
                        && (long) runs.getLast().pageCount() + e.pageCount() <= Integer.MAX_VALUE) {
                    PageRun last = runs.removeLast();
                    runs.add(new PageRun(last.firstPage(), last.pageCount() + e.pageCount()));
                } else {
                    runs.add(new PageRun(e.firstPage(), e.pageCount()));
                }
            }
            return runs;
        }

        @Override
        public MemorySegment page(long page) throws IOException {
            Extent e = reader.extentOf(page);
            if (e == null || e.kind() == PageKind.ZERO) {
                return null;
            }
            if (e.kind() == PageKind.COPY) {
                page = e.source() + (page - e.firstPage());
                e = reader.extentOf(page);
            }
            int[] last = lastFrame.get();
            MemorySegment raw = frameBuffer.get().asSlice(0, reader.frameBytes(e.frame()));
            if (last[0] != e.frame()) {
                last[0] = -1;
                reader.readFrame(e.frame(), raw);
                last[0] = e.frame();
            }
            return raw.asSlice((e.slot() + (page - e.firstPage())) * pageSize(), pageSize());
        }

        @Override
        public void close() throws IOException {
            reader.close();
        }
    }
}
