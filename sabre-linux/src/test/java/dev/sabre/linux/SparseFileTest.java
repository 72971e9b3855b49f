package dev.sabre.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SparseFileTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    private static void writeAt(int fd, long offset, long length) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(length);
            data.fill((byte) 0x77);
            FileIo.writeFully(fd, data, offset);
        }
    }

    private Path sparse(String name, long size, long... dataOffsets) throws LinuxException {
        Path file = dir.resolve(name);
        int fd = FileIo.open(file, FileIo.O_RDWR | FileIo.O_CREAT | FileIo.O_CLOEXEC, 0644);
        try {
            FileIo.ftruncate(fd, size);
            for (long offset : dataOffsets) {
                writeAt(fd, offset, 4096);
            }
            FileIo.fsync(fd);
        } finally {
            Fds.close(fd);
        }
        return file;
    }

    @Test
    void holesAreSkipped() throws Exception {
        Path file = sparse("holes", 4 * MIB, 0, MIB, 3 * MIB);
        assertEquals(List.of(
                new SparseFile.Extent(0, 4096),
                new SparseFile.Extent(MIB, 4096),
                new SparseFile.Extent(3 * MIB, 4096)), SparseFile.dataExtents(file));
    }

    @Test
    void dataRunningToTheEndOfTheFileEndsAtItsSize() throws Exception {
        Path file = sparse("tail", 2 * MIB + 4096, 2 * MIB);
        assertEquals(List.of(new SparseFile.Extent(2 * MIB, 4096)), SparseFile.dataExtents(file));
    }

    @Test
    void punchedHolesSplitExtents() throws Exception {
        Path file = dir.resolve("punched");
        Files.write(file, new byte[(int) MIB]);
        int fd = FileIo.open(file, FileIo.O_RDWR | FileIo.O_CLOEXEC);
        try {
            FileIo.fallocate(fd, FileIo.FALLOC_FL_PUNCH_HOLE | FileIo.FALLOC_FL_KEEP_SIZE, 256 * 1024, 512 * 1024);
            FileIo.fsync(fd);
            List<SparseFile.Extent> extents = SparseFile.dataExtents(fd);
            assertEquals(List.of(new SparseFile.Extent(0, 256 * 1024), new SparseFile.Extent(768 * 1024, 256 * 1024)),
                    extents);
            assertEquals(MIB, extents.getLast().end());
        } finally {
            Fds.close(fd);
        }
    }

    @Test
    void filesWithoutDataHaveNoExtents() throws Exception {
        assertEquals(List.of(), SparseFile.dataExtents(sparse("empty", 0)));
        assertEquals(List.of(), SparseFile.dataExtents(sparse("all-hole", 8 * MIB)));
    }

    @Test
    void denseFilesAreOneExtent() throws Exception {
        Path file = dir.resolve("dense");
        Files.write(file, new byte[12345]);
        List<SparseFile.Extent> extents = SparseFile.dataExtents(file);
        assertEquals(List.of(new SparseFile.Extent(0, 12345)), extents);
    }

    @Test
    void filesWithoutSeekDataSupportAreNotAnError() throws Exception {
        // Its seq_file refuses SEEK_DATA with EINVAL; the fallback reports the whole file, which procfs
        // says is empty.
        assertEquals(List.of(), SparseFile.dataExtents(Path.of("/proc/self/status")));
    }

    @Test
    void missingFilesAreNamed() {
        Path missing = dir.resolve("missing");
        LinuxException e = assertThrows(LinuxException.class, () -> SparseFile.dataExtents(missing));
        assertEquals(Errno.ENOENT, e.errno());
        assertTrue(e.getMessage().contains(missing.toString()));
    }
}
