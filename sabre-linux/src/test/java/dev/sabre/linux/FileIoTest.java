package dev.sabre.linux;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileIoTest {
    @TempDir
    Path dir;

    private static byte[] random(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    @Test
    void directReadsMatchBufferedReads() throws Exception {
        Path file = dir.resolve("direct");
        byte[] expected = random(1 << 20, 1);
        Files.write(file, expected);
        int fd = FileIo.open(file, FileIo.O_RDONLY | FileIo.O_DIRECT | FileIo.O_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            assertTrue((Fds.getFlags(fd) & FileIo.O_DIRECT) != 0);
            FileIo.fadvise(fd, 0, 0, FileIo.POSIX_FADV_SEQUENTIAL);
            MemorySegment buffer = FileIo.alignedBuffer(arena, expected.length);
            assertEquals(0, buffer.address() % FileIo.DIRECT_IO_ALIGNMENT);
            FileIo.readFully(fd, buffer, 0);
            assertArrayEquals(expected, buffer.toArray(JAVA_BYTE));

            MemorySegment part = FileIo.alignedBuffer(arena, 8192);
            assertEquals(8192, FileIo.pread(fd, part, 65536));
            assertEquals(-1, part.mismatch(MemorySegment.ofArray(expected).asSlice(65536, 8192)));

            // O_DIRECT is really in force: a misaligned buffer is refused instead of going through the cache.
            MemorySegment misaligned = FileIo.alignedBuffer(arena, 2 * 4096).asSlice(1, 4096);
            LinuxException e = assertThrows(LinuxException.class, () -> FileIo.pread(fd, misaligned, 0));
            assertEquals(Errno.EINVAL, e.errno());
            assertTrue(e.getMessage().startsWith("pread(fd " + fd + ", 4096 bytes at 0)"), e.getMessage());
            FileIo.fadvise(fd, 0, 0, FileIo.POSIX_FADV_DONTNEED);
        } finally {
            Fds.close(fd);
        }
    }

    @Test
    void writesReadsSizesAndSeeks() throws Exception {
        Path file = dir.resolve("rw");
        int fd = FileIo.open(file, FileIo.O_RDWR | FileIo.O_CREAT | FileIo.O_EXCL | FileIo.O_CLOEXEC, 0600);
        try (Arena arena = Arena.ofConfined()) {
            byte[] data = random(10_000, 2);
            FileIo.writeFully(fd, arena.allocateFrom(JAVA_BYTE, data), 100);
            FileIo.fsync(fd);
            assertEquals(10_100, FileIo.size(fd));
            assertEquals(10_100, Files.size(file));
            assertEquals(10_100, FileIo.lseek(fd, 0, FileIo.SEEK_END));
            assertEquals(0, FileIo.lseek(fd, 0, FileIo.SEEK_SET));

            MemorySegment back = arena.allocate(data.length);
            FileIo.readFully(fd, back, 100);
            assertArrayEquals(data, back.toArray(JAVA_BYTE));
            assertEquals(0, FileIo.pread(fd, arena.allocate(10), 10_100), "end of file");
            EOFException eof = assertThrows(EOFException.class, () -> FileIo.readFully(fd, arena.allocate(200), 10_000));
            assertTrue(eof.getMessage().contains("end of file at offset 10100"), eof.getMessage());

            FileIo.fadvise(fd, 0, 4096, FileIo.POSIX_FADV_WILLNEED);
            LinuxException bad = assertThrows(LinuxException.class, () -> FileIo.fadvise(fd, 0, 0, 99));
            assertEquals(Errno.EINVAL, bad.errno(), "posix_fadvise reports its error as a return value");

            FileIo.ftruncate(fd, 50);
            assertEquals(50, FileIo.size(fd));
            assertEquals(Errno.EEXIST, assertThrows(LinuxException.class,
                    () -> FileIo.open(file, FileIo.O_RDWR | FileIo.O_CREAT | FileIo.O_EXCL, 0600)).errno());
        } finally {
            Fds.close(fd);
        }
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(file)));
    }

    @Test
    void alignedBuffersRoundUp() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment b = FileIo.alignedBuffer(arena, 5000);
            assertEquals(8192, b.byteSize());
            assertEquals(0, b.address() % 4096);
            assertEquals(0, FileIo.alignedBuffer(arena, 0).byteSize());
        }
    }

    @Test
    void mknodMakesFifosAndDeviceNodesAndUtimensatSetsTheirTimes() throws Exception {
        Path fifo = dir.resolve("fifo");
        FileIo.mknod(fifo, FileIo.S_IFIFO | 0600, 0, 0);
        assertEquals(0010000, (int) Files.getAttribute(fifo, "unix:mode") & 0170000);

        Path nul = dir.resolve("null");
        FileIo.mknod(nul, FileIo.S_IFCHR | 0666, 1, 3); // needs CAP_MKNOD: the tests run as root
        int mode = (int) Files.getAttribute(nul, "unix:mode");
        assertEquals(0020000, mode & 0170000);
        assertEquals(FileIo.makedev(1, 3), (long) Files.getAttribute(nul, "unix:rdev"));
        // Numbers above 8 and 12 bits land where glibc puts them.
        assertEquals(0x1_2067_89a3_45bcL, FileIo.makedev(0x12345, 0x6789abc)); // Python's os.makedev

        // Times on a FIFO without opening it (which would block), and on a link itself, not its target.
        java.time.Instant then = java.time.Instant.parse("2021-02-03T04:05:06.123456789Z");
        FileIo.setTimes(fifo, then, then);
        assertEquals(then, Files.getLastModifiedTime(fifo).toInstant());
        Path link = Files.createSymbolicLink(dir.resolve("link"), nul);
        FileIo.setTimes(link, then.plusSeconds(1), then.plusSeconds(1));
        assertEquals(then.plusSeconds(1),
                Files.getLastModifiedTime(link, java.nio.file.LinkOption.NOFOLLOW_LINKS).toInstant());
        assertTrue(Files.getLastModifiedTime(nul).toInstant().isAfter(then.plusSeconds(1)));

        LinuxException exists = assertThrows(LinuxException.class, () -> FileIo.mknod(fifo, FileIo.S_IFIFO | 0600, 0, 0));
        assertEquals(Errno.EEXIST, exists.errno());
        assertTrue(exists.getMessage().contains(fifo.toString()), exists.getMessage());
    }
}
