package dev.sabre.firecracker.standin;

import dev.sabre.linux.HugePages;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.Memory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.util.BitSet;

/**
 * The stand-in's guest: real guest memory (anonymous, a private file mapping, or registered with a
 * userfaultfd) that a deterministic "guest" writes and reads. Every page's content is a function of
 * the page number and the generation that last wrote it, so the expected memory after any snapshot
 * and restore is known exactly from the per-page generations the device state records. Guest memory
 * is touched only through native memcpy/memcmp: a fault on uffd-registered memory then blocks a
 * thread in native code, never the JVM at a safepoint.
 */
final class Guest {
    static final int PAGE = 4096;

    private final MemorySegment memory;
    private final long pages;
    /** Per page, the generation whose pattern it holds; 0 is a zero page. */
    final int[] generation;
    private final BitSet dirty = new BitSet();
    private final boolean anonymous;
    /** Pages a balloon frees at once: 8, or one whole 2 MiB page on hugetlb memory (which frees nothing smaller). */
    private final int balloonPages;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch = arena.allocate(PAGE, PAGE);
    private final MemorySegment zeros = arena.allocate(PAGE, PAGE);

    Guest(MemorySegment memory, int[] generation, boolean anonymous, boolean hugePages) {
        this.memory = memory;
        this.pages = memory.byteSize() / PAGE;
        this.generation = generation;
        this.anonymous = anonymous;
        this.balloonPages = hugePages ? (int) (HugePages.SIZE / PAGE) : 8;
    }

    MemorySegment memory() {
        return memory;
    }

    long pages() {
        return pages;
    }

    /** The kernel's boot writes: the first 64 pages and every third page of the first eighth. */
    void boot() {
        for (long p = 0; p < pages; p++) {
            if (p < 64 || (p < pages / 8 && p % 3 == 0)) {
                write(p, 1);
            }
        }
    }

    /** One invocation of generation {@code g} (at least 2): 64 pages spread over the memory. */
    void run(int g) {
        for (int k = 0; k < 64; k++) {
            write(Math.floorMod(g * 7919L + k * 131L, pages), g);
        }
    }

    /**
     * Frees 8 pages (a huge page on hugetlb memory) the way a balloon does (madvise DONTNEED) when the memory is
     * anonymous: they read as zeros afterwards, and a userfaultfd handler sees UFFD_EVENT_REMOVE for them.
     */
    boolean balloon(int g) throws LinuxException {
        if (!anonymous) {
            return false;
        }
        long first = Math.floorMod(g * 4099L, pages - balloonPages);
        if (balloonPages > 8) {
            first -= first % balloonPages; // hugetlb memory is freed in whole, aligned huge pages
        }
        Memory.madvise(memory.asSlice(first * PAGE, (long) balloonPages * PAGE), Memory.MADV_DONTNEED);
        for (long p = first; p < first + balloonPages; p++) {
            generation[(int) p] = 0;
            dirty.set((int) p);
        }
        return true;
    }

    /**
     * Touches every page with data and every 61st page, comparing each with what the device state says
     * it holds; returns the number of pages checked, or throws naming the first page that differs.
     */
    long verify() {
        long checked = 0;
        for (long p = 0; p < pages; p++) {
            if (generation[(int) p] != 0 || p % 61 == 0) {
                MemorySegment expected = expected(p);
                if (Memory.compare(expected, memory.asSlice(p * PAGE, PAGE)) != 0) {
                    throw new IllegalStateException("guest page " + p + " (offset 0x" + Long.toHexString(p * PAGE)
                            + ") differs from the snapshot: expected " + (generation[(int) p] == 0 ? "zeros" : "generation " + generation[(int) p]));
                }
                checked++;
            }
        }
        return checked;
    }

    private void write(long p, int g) {
        Memory.copy(pattern(p, g), memory.asSlice(p * PAGE, PAGE));
        generation[(int) p] = g;
        dirty.set((int) p);
    }

    private MemorySegment expected(long p) {
        int g = generation[(int) p];
        return g == 0 ? zeros : pattern(p, g);
    }

    /** The content of page {@code p} written by generation {@code g}, in the scratch buffer. */
    private MemorySegment pattern(long p, int g) {
        long x = p * 0x9E3779B97F4A7C15L ^ g * 0xC2B2AE3D27D4EB4FL;
        for (int i = 0; i < PAGE / 8; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            // A quarter of each page repeats, so that pages compress as real memory does.
            scratch.setAtIndex(ValueLayout.JAVA_LONG, i, i % 4 == 0 ? x : g);
        }
        return scratch;
    }

    /**
     * Writes the whole memory to {@code file} (Full), or only the pages dirtied since the last snapshot
     * (Diff: a file of the memory's length whose other pages are holes), as Firecracker does.
     */
    void dump(java.nio.file.Path file, boolean diff) throws IOException {
        MemorySegment buffer = arena.allocate(1 << 20, PAGE);
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(0);
            raf.setLength(memory.byteSize());
            FileChannel out = raf.getChannel();
            if (diff) {
                for (int p = dirty.nextSetBit(0); p >= 0 && p < pages; p = dirty.nextSetBit(p + 1)) {
                    Memory.copy(memory.asSlice((long) p * PAGE, PAGE), buffer.asSlice(0, PAGE));
                    writeFully(out, buffer.asSlice(0, PAGE), (long) p * PAGE);
                }
            } else {
                for (long at = 0; at < memory.byteSize(); at += buffer.byteSize()) {
                    long n = Math.min(buffer.byteSize(), memory.byteSize() - at);
                    Memory.copy(memory.asSlice(at, n), buffer.asSlice(0, n));
                    writeFully(out, buffer.asSlice(0, n), at);
                }
            }
            out.force(true);
        }
        dirty.clear();
    }

    private static void writeFully(FileChannel out, MemorySegment data, long at) throws IOException {
        var b = data.asByteBuffer();
        while (b.hasRemaining()) {
            at += out.write(b, at);
        }
    }

    void close() {
        arena.close();
    }
}
