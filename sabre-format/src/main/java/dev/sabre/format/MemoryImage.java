package dev.sabre.format;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A guest memory file to pack, mapped read-only: a Firecracker Full memory file or a QEMU RAM file
 * (every page present), or a sparse Firecracker Diff file whose data extents (from SEEK_DATA /
 * SEEK_HOLE, found by the caller) are the present pages. Holes are never read.
 */
public final class MemoryImage implements AutoCloseable {
    private final Path path;
    private final int pageSize;
    private final long memorySize;
    private final List<PageRun> present;
    /** Runs that hold data on disk; pages outside them are holes and are never read. */
    private final List<PageRun> data;
    private final long[] dataStarts;
    private final Arena arena;
    private final MemorySegment memory;

    private MemoryImage(Path path, int pageSize, long memorySize, List<PageRun> present, List<PageRun> data, Arena arena,
                        MemorySegment memory) {
        this.path = path;
        this.pageSize = pageSize;
        this.memorySize = memorySize;
        this.present = present;
        this.data = data;
        this.dataStarts = data.stream().mapToLong(PageRun::firstPage).toArray();
        this.arena = arena;
        this.memory = memory;
    }

    /**
     * Maps a Diff-style file: {@code dataExtents} lists the byte ranges {offset, length} holding data (a
     * sparse file's extents) and only those pages are present; null means the whole file is present.
     * Extents are widened to whole pages.
     */
    public static MemoryImage open(Path file, int pageSize, List<long[]> dataExtents) throws IOException {
        return open(file, pageSize, dataExtents, false);
    }

    /**
     * Maps {@code file}. With {@code holesAreZero} (a Full memory file that happens to be sparse, as
     * QEMU's RAM files are) every page is present and the holes are zero pages, known without reading
     * them; otherwise holes are pages absent from the snapshot (a Firecracker Diff file).
     */
    public static MemoryImage open(Path file, int pageSize, List<long[]> dataExtents, boolean holesAreZero)
            throws IOException {
        if (pageSize < SnapshotFormat.MIN_PAGE_SIZE || Integer.bitCount(pageSize) != 1) {
            throw new IllegalArgumentException("page size " + pageSize + " is not a power of two of at least 4096");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size == 0 || size % pageSize != 0) {
                throw new IOException("%s: size %d is not a positive multiple of the page size %d; is it a guest memory file?"
                        .formatted(file, size, pageSize));
            }
            if (size > SnapshotFormat.MAX_MEMORY_SIZE) {
                throw new IOException(file + ": size " + size + " exceeds the format's 256 TiB limit");
            }
            MemorySegment memory = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            List<PageRun> runs = new ArrayList<>();
            if (dataExtents == null) {
                addRun(runs, 0, size / pageSize);
            } else {
                for (long[] extent : dataExtents) {
                    long first = extent[0] / pageSize;
                    long end = Math.min(size, Math.ceilDiv(extent[0] + extent[1], pageSize) * pageSize) / pageSize;
                    if (!runs.isEmpty() && first < runs.getLast().endPage()) {
                        first = runs.getLast().endPage(); // extents sharing a page after widening
                    }
                    addRun(runs, first, end - first);
                }
            }
            List<PageRun> data = List.copyOf(runs);
            List<PageRun> present = data;
            if (holesAreZero) {
                List<PageRun> all = new ArrayList<>();
                addRun(all, 0, size / pageSize);
                present = List.copyOf(all);
            }
            return new MemoryImage(file, pageSize, size, present, data, arena, memory);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Appends pages as runs of at most Integer.MAX_VALUE pages, merging with the previous run. */
    private static void addRun(List<PageRun> runs, long first, long count) {
        while (count > 0) {
            if (!runs.isEmpty() && runs.getLast().endPage() == first && runs.getLast().pageCount() < Integer.MAX_VALUE) {
                PageRun last = runs.removeLast();
                int take = (int) Math.min(count, Integer.MAX_VALUE - last.pageCount());
                runs.add(new PageRun(last.firstPage(), last.pageCount() + take));
                first += take;
                count -= take;
                continue;
            }
            int take = (int) Math.min(count, Integer.MAX_VALUE);
            runs.add(new PageRun(first, take));
            first += take;
            count -= take;
        }
    }

    public Path path() {
        return path;
    }

    public int pageSize() {
        return pageSize;
    }

    public long memorySize() {
        return memorySize;
    }

    public long pageCount() {
        return memorySize / pageSize;
    }

    /** Runs of present pages in ascending order. */
    public List<PageRun> present() {
        return present;
    }

    public long presentPages() {
        return present.stream().mapToLong(PageRun::pageCount).sum();
    }

    /** False when {@code page} lies in a hole of a sparse file: it reads as zeros and need not be read. */
    public boolean hasData(long page) {
        int i = java.util.Arrays.binarySearch(dataStarts, page);
        i = i >= 0 ? i : -i - 2;
        return i >= 0 && page < data.get(i).endPage();
    }

    /** The bytes of page {@code page}, valid until {@link #close}. */
    public MemorySegment page(long page) {
        return memory.asSlice(page * pageSize, pageSize);
    }

    @Override
    public void close() {
        arena.close();
    }
}
