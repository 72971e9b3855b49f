package dev.sabre.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.codec.Codec;
import dev.sabre.codec.CodecId;
import dev.sabre.codec.Codecs;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Valid files whose metadata is small but whose naive processing is not: opening them must cost time
 * and memory proportional to the file, not to what the map multiplies out to. (The timeouts only catch
 * a hang; the quadratic or exploding versions of these checks take hours or exhaust the heap.)
 */
class HostileMapTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(120)
    void manyCopiesOfALongRunOfOnePageFramesOpenCheaply() throws IOException {
        int run = 2000;
        int copies = 2000;
        Path file = dir.resolve("copies.sabre");
        SnapshotHeader header = new SnapshotHeader(1, 4096, 4096L * run * (copies + 1), CodecId.ZSTD, 3, 1, PackPolicy.PAGE, 1, 2);
        Codec codec = Codecs.create(CodecId.ZSTD, 3);
        byte[] page = SyntheticMemory.text(new Random(1), 1);
        byte[] out = new byte[codec.maxCompressedLength(page.length)];
        byte[] frame = Arrays.copyOf(out, codec.compress(page, out));
        List<Extent> extents = new ArrayList<>();
        try (SnapshotWriter writer = new SnapshotWriter(file, header, run)) {
            for (int p = 0; p < run; p++) {
                writer.addFrame(MemorySegment.ofArray(frame), 1, true);
                extents.add(Extent.stored(p, 1, p, 0));
            }
            for (int c = 1; c <= copies; c++) {
                extents.add(Extent.copy((long) c * run, run, 0)); // every copy spans all 2000 frames
            }
            writer.finish(extents, List.of());
        }
        try (SnapshotReader reader = SnapshotReader.open(file); Arena arena = Arena.ofConfined()) {
            assertEquals((long) run * copies, reader.stats().copyPages());
            MemorySegment read = arena.allocate(4096);
            reader.readPage((long) copies * run + run - 1, read); // the last page of the last copy
            assertEquals(-1, read.mismatch(MemorySegment.ofArray(page)));
        }
    }

    @Test
    @Timeout(120)
    void manyPrefetchRunsOverManyExtentsOpenInLinearTime() throws IOException {
        int extents = 200_000;
        Path file = dir.resolve("prefetch.sabre");
        SnapshotHeader header = new SnapshotHeader(1, 4096, 4096L * 2 * extents, CodecId.NONE, 0, 1, PackPolicy.PAGE, 1, 2);
        List<Extent> map = new ArrayList<>();
        List<PageRun> prefetch = new ArrayList<>();
        try (SnapshotWriter writer = new SnapshotWriter(file, header, 1)) {
            writer.addFrame(MemorySegment.ofArray(new byte[4096]), 1, false);
            map.add(Extent.stored(0, 1, 0, 0));
            // Alternating zero and copy extents: the writer cannot merge them, so the map has 2 x 200,000 entries.
            for (int e = 1; e < 2 * extents; e++) {
                map.add(e % 2 == 1 ? Extent.zero(e, 1) : Extent.copy(e, 1, 0));
            }
            for (int r = 0; r < extents; r++) {
                prefetch.add(new PageRun(0, 2 * extents)); // each run covers every extent
            }
            writer.finish(map, prefetch);
        }
        try (SnapshotReader reader = SnapshotReader.open(file)) {
            assertEquals(extents, reader.prefetchOrder().size());
            // The list names every page 200,000 times over: inspect reports the pages it names, not the sum.
            assertEquals(2L * extents, reader.stats().prefetchPages());
            assertEquals(reader.stats().presentPages(), reader.stats().prefetchPages());
        }
    }

    @Test
    @Timeout(120)
    void aLongPrefetchOrderIsKeptCompactly() throws IOException {
        int runs = 2_000_000;
        Path file = writeLongPrefetch(dir.resolve("long-prefetch.sabre"), runs);
        long before = heapUsedAfterGc();
        try (SnapshotReader reader = SnapshotReader.open(file)) {
            long perRun = (heapUsedAfterGc() - before) / runs;
            System.out.println("prefetch order of " + runs + " runs: " + perRun + " bytes of heap per run");
            assertEquals(runs, reader.prefetchOrder().size());
            assertEquals(new PageRun(7, 1), reader.prefetchOrder().get(1024 * 5 + 7));
            // Two arrays cost 12 bytes a run; a list of PageRun objects at least 28 (24 an object, 4 a reference).
            assertTrue(perRun <= 24, "the prefetch order keeps " + perRun + " bytes of heap per run");
        }
    }

    /** Written in a method of its own, so that the list of runs is garbage once it returns. */
    private static Path writeLongPrefetch(Path file, int runs) throws IOException {
        SnapshotHeader header = new SnapshotHeader(1, 4096, 4096L * 1024, CodecId.NONE, 0, 1, PackPolicy.PAGE, 1, 2);
        try (SnapshotWriter writer = new SnapshotWriter(file, header, 0)) {
            List<PageRun> prefetch = new ArrayList<>(runs);
            for (int r = 0; r < runs; r++) {
                prefetch.add(new PageRun(r % 1024, 1));
            }
            writer.finish(List.of(Extent.zero(0, 1024)), prefetch);
        }
        return file;
    }

    private static long heapUsedAfterGc() {
        java.lang.management.MemoryMXBean memory = java.lang.management.ManagementFactory.getMemoryMXBean();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return memory.getHeapMemoryUsage().getUsed();
    }
}
