package dev.sabre.firecracker;

import dev.sabre.format.PackOptions;
import dev.sabre.format.SnapshotReader;
import dev.sabre.format.SnapshotStats;
import dev.sabre.linux.SparseFile;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.VmmException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Diff rebase and Diff packing on real sparse files: only data extents are read, holes stay holes. */
class DiffRebaseTest {
    private static final int PAGE = 4096;
    private static final int PAGES = 256;

    @TempDir
    Path tmp;

    /** A sparse memory file of PAGES pages; {@code pages} get content {@code tag + page}. */
    private Path memory(String name, char tag, int... pages) throws IOException {
        Path file = tmp.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength((long) PAGES * PAGE);
            for (int p : pages) {
                f.seek((long) p * PAGE);
                f.write(page(tag, p));
            }
        }
        return file;
    }

    private static byte[] page(char tag, int p) {
        byte[] b = new byte[PAGE];
        Arrays.fill(b, (byte) (tag + p));
        return b;
    }

    private static byte[] read(Path file, int p) throws IOException {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(PAGE);
            c.read(b, (long) p * PAGE);
            return b.array();
        }
    }

    private static long dataBytes(Path file) throws IOException {
        return SparseFile.dataExtents(file).stream().mapToLong(SparseFile.Extent::length).sum();
    }

    @Test
    void theDiffsPagesOverwriteTheBaseAndHolesStayHoles() throws IOException {
        Path base = memory("base", 'B', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        Path diff = memory("diff", 'D', 5, 6, 7, 100);
        Path out = tmp.resolve("merged");
        DiffRebase.rebase(base, diff, out);
        assertEquals((long) PAGES * PAGE, Files.size(out));
        for (int p : new int[] {0, 4, 8, 9}) {
            assertArrayEquals(page('B', p), read(out, p), "page " + p);
        }
        for (int p : new int[] {5, 6, 7, 100}) {
            assertArrayEquals(page('D', p), read(out, p), "page " + p);
        }
        assertArrayEquals(new byte[PAGE], read(out, 200));
        assertTrue(dataBytes(out) <= 11L * PAGE, "the merged file should hold 11 pages of data, not " + dataBytes(out));
        assertArrayEquals(page('B', 5), read(base, 5), "the base is left unchanged");
    }

    @Test
    void aDiffSinceBootRebasesOntoZeros() throws IOException {
        Path diff = memory("diff", 'D', 3, 200);
        Path out = tmp.resolve("merged");
        DiffRebase.rebase(null, diff, out);
        assertArrayEquals(page('D', 3), read(out, 3));
        assertArrayEquals(new byte[PAGE], read(out, 4));
        assertTrue(dataBytes(out) <= 2L * PAGE);
    }

    @Test
    void inPlaceRebaseWritesIntoTheBaseLikeTheSnapshotEditor() throws IOException {
        Path base = memory("base", 'B', 0, 1);
        Path diff = memory("diff", 'D', 1, 50);
        DiffRebase.rebaseInPlace(base, diff);
        assertArrayEquals(page('B', 0), read(base, 0));
        assertArrayEquals(page('D', 1), read(base, 1));
        assertArrayEquals(page('D', 50), read(base, 50));
    }

    @Test
    void memoriesOfDifferentSizesAreRefused() throws IOException {
        Path base = memory("base", 'B', 0);
        Path diff = tmp.resolve("small");
        try (RandomAccessFile f = new RandomAccessFile(diff.toFile(), "rw")) {
            f.setLength(PAGE);
        }
        VmmException e = assertThrows(VmmException.class, () -> DiffRebase.rebase(base, diff, tmp.resolve("out")));
        assertEquals("cannot rebase " + diff + " (4096 bytes) onto " + base + " (1048576 bytes): snapshots of different memory sizes",
                e.getMessage());
        assertTrue(Files.notExists(tmp.resolve("out")));
    }

    /** The packer reads only the Diff's data extents: its holes are absent pages, or zero pages when asked. */
    @Test
    void packingADiffReadsOnlyItsDataExtents() throws IOException {
        Path diff = memory("diff", 'D', 5, 6, 7, 100);
        PackOptions options = PackOptions.defaults().withThreads(1);
        SnapshotPacking.pack(diff, tmp.resolve("diff.sabre"), false, options, null);
        try (SnapshotReader reader = SnapshotReader.open(tmp.resolve("diff.sabre"))) {
            SnapshotStats stats = reader.stats();
            assertEquals(4, stats.presentPages());
            assertEquals(PAGES - 4, stats.absentPages());
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buffer = arena.allocate(PAGE);
                reader.readPage(100, buffer);
                assertArrayEquals(page('D', 100), buffer.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
        }
        SnapshotPacking.pack(diff, tmp.resolve("full.sabre"), true, options, null);
        try (SnapshotReader reader = SnapshotReader.open(tmp.resolve("full.sabre"))) {
            assertEquals(PAGES, reader.stats().presentPages());
            assertEquals(0, reader.stats().absentPages());
        }
    }

    /** At the snapshot level the base is found through firecracker.json and the result is a Full snapshot. */
    @Test
    void aDiffSnapshotBecomesARestorableFullSnapshot() throws IOException {
        Snapshot base = snapshot("base", memory("base-mem", 'B', 0, 1, 2), SnapshotKind.FULL, null);
        Snapshot diff = snapshot("diff", memory("diff-mem", 'D', 2, 9), SnapshotKind.DIFF, tmp.resolve("base"));
        Snapshot full = DiffRebase.rebase(diff, tmp.resolve("merged"));
        assertEquals(SnapshotKind.FULL, SnapshotInfo.load(tmp.resolve("merged")).kind());
        assertEquals(full, Snapshot.load(tmp.resolve("merged")));
        assertArrayEquals(page('B', 1), read(full.memoryFile(), 1));
        assertArrayEquals(page('D', 2), read(full.memoryFile(), 2));
        assertArrayEquals(page('D', 9), read(full.memoryFile(), 9));
        assertArrayEquals(Files.readAllBytes(diff.stateFile()), Files.readAllBytes(full.stateFile()));
        Path sabre = SnapshotPacking.pack(full, PackOptions.defaults().withThreads(1), null);
        try (SnapshotReader reader = SnapshotReader.open(sabre)) {
            assertEquals(PAGES, reader.stats().presentPages());
        }

        VmmException notDiff = assertThrows(VmmException.class, () -> DiffRebase.rebase(base, tmp.resolve("x")));
        assertEquals("snapshot " + tmp.resolve("base") + " is a Full snapshot, not a Diff: nothing to rebase", notDiff.getMessage());
        Snapshot chained = snapshot("chained", memory("chained-mem", 'C', 4), SnapshotKind.DIFF, tmp.resolve("diff"));
        VmmException chain = assertThrows(VmmException.class, () -> DiffRebase.rebase(chained, tmp.resolve("y")));
        assertTrue(chain.getMessage().endsWith("is itself a Diff: rebase it first"), chain.getMessage());
        VmmException packDiff = assertThrows(VmmException.class, () -> SnapshotPacking.pack(diff, PackOptions.defaults(), null));
        assertTrue(packDiff.getMessage().endsWith("rebase it first (DiffRebase.rebase)"), packDiff.getMessage());
    }

    private Snapshot snapshot(String dir, Path memoryFile, SnapshotKind kind, Path baseDir) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(dir));
        Path memory = Files.move(memoryFile, d.resolve("memory"));
        Path state = Files.writeString(d.resolve("vmstate"), "state of " + dir);
        Snapshot s = new Snapshot("fibonacci", "firecracker", (long) PAGES * PAGE, "img", state, memory);
        s.save();
        new SnapshotInfo(kind, baseDir, false, false).save(d);
        return s;
    }
}
