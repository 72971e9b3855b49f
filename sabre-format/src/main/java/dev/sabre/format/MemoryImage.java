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
    private final Arena arena;
    private final MemorySegment memory;

    private MemoryImage(Path path, int pageSize, long memorySize, List<PageRun> present, Arena arena, MemorySegment memory) {
        this.path = path;
        this.pageSize = pageSize;
        this.memorySize = memorySize;
        this.present = present;
        this.arena = arena;
        this.memory = memory;
    }

    /**
     * Maps {@code file}. {@code dataExtents} lists byte ranges {offset, length} holding data (a sparse
     * file's extents); null means the whole file is present. Extents are widened to whole pages.
     */
    public static MemoryImage open(Path file, int pageSize, List<long[]> dataExtents) throws IOException {
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
            return new MemoryImage(file, pageSize, size, List.copyOf(runs), arena, memory);
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

    /** The bytes of page {@code page}, valid until {@link #close}. */
    public MemorySegment page(long page) {
        return memory.asSlice(page * pageSize, pageSize);
    }

    @Override
    public void close() {
        arena.close();
    }
}
