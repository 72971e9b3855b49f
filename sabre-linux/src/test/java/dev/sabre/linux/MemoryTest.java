package dev.sabre.linux;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemoryTest {
    private static final long PAGE = Memory.pageSize();

    /** The permission column ("rw-p") of /proc/self/maps for the mapping that contains {@code address}. */
    private static String permissions(long address) throws IOException {
        List<String> maps = Files.readAllLines(Path.of("/proc/self/maps"));
        for (String line : maps) {
            String[] range = line.substring(0, line.indexOf(' ')).split("-");
            if (Long.parseUnsignedLong(range[0], 16) <= address && address < Long.parseUnsignedLong(range[1], 16)) {
                return line.split(" ")[1];
            }
        }
        throw new AssertionError("0x" + Long.toHexString(address) + " is not mapped");
    }

    @Test
    void pageSizeIs4KiB() {
        assertEquals(4096, Memory.pageSize());
    }

    @Test
    void anonymousMappingsAreZeroedAndSized() throws Exception {
        MemorySegment m = Memory.mapAnonymous(3 * PAGE);
        try {
            assertEquals(3 * PAGE, m.byteSize());
            assertEquals(0, m.address() % PAGE);
            assertEquals("rw-p", permissions(m.address()));
            try (Arena arena = Arena.ofConfined()) {
                assertEquals(0, Memory.compare(m, arena.allocate(3 * PAGE)));
            }
        } finally {
            Memory.munmap(m);
        }
    }

    @Test
    void adviceAndProtectionApply() throws Exception {
        MemorySegment m = Memory.mapAnonymous(4 * PAGE);
        try {
            Memory.fill(m, (byte) 1);
            Memory.madvise(m, Memory.MADV_WILLNEED);
            Memory.madvise(m, Memory.MADV_NOHUGEPAGE);
            Memory.madvise(m, Memory.MADV_HUGEPAGE);
            Memory.madvise(m.asSlice(PAGE, PAGE), Memory.MADV_DONTNEED);
            // Private anonymous pages dropped with DONTNEED read as zeros again; the others keep their bytes.
            assertEquals(0, m.get(JAVA_BYTE, PAGE));
            assertEquals(1, m.get(JAVA_BYTE, 0));
            assertEquals(1, m.get(JAVA_BYTE, 2 * PAGE));

            Memory.mprotect(m.asSlice(2 * PAGE, PAGE), Memory.PROT_READ);
            assertEquals("r--p", permissions(m.address() + 2 * PAGE));
            assertEquals("rw-p", permissions(m.address()));

            LinuxException e = assertThrows(LinuxException.class,
                    () -> Memory.madvise(m.asSlice(1, PAGE), Memory.MADV_DONTNEED));
            assertEquals(Errno.EINVAL, e.errno());
            assertTrue(e.getMessage().startsWith("madvise(0x"), e.getMessage());
        } finally {
            Memory.munmap(m);
        }
    }

    @Test
    void mmapFailuresAreReported() {
        LinuxException e = assertThrows(LinuxException.class,
                () -> Memory.mmap(0, PAGE, Memory.PROT_READ, Memory.MAP_SHARED, 12345, 0));
        assertEquals(Errno.EBADF, e.errno());
        assertTrue(e.getMessage().contains("fd=12345"), e.getMessage());
    }

    @Test
    void memfdContentsAreSharedBetweenMappings() throws Exception {
        int fd = Memory.memfdCreate("shared", Memory.MFD_CLOEXEC);
        try {
            assertTrue(Fds.isCloseOnExec(fd));
            FileIo.ftruncate(fd, 2 * PAGE);
            assertEquals(2 * PAGE, FileIo.size(fd));
            int prot = Memory.PROT_READ | Memory.PROT_WRITE;
            MemorySegment a = Memory.mmap(0, 2 * PAGE, prot, Memory.MAP_SHARED, fd, 0);
            MemorySegment b = Memory.mmap(0, PAGE, prot, Memory.MAP_SHARED, fd, PAGE);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment data = arena.allocate(PAGE);
                for (int i = 0; i < PAGE; i++) {
                    data.set(JAVA_BYTE, i, (byte) (i * 7));
                }
                Memory.copy(data, a.asSlice(PAGE));
                assertEquals(0, Memory.compare(b, data));
                MemorySegment back = arena.allocate(PAGE);
                assertEquals(PAGE, FileIo.pread(fd, back, PAGE));
                assertEquals(-1, back.mismatch(data));
            } finally {
                Memory.munmap(a);
                Memory.munmap(b);
            }
        } finally {
            Fds.close(fd);
        }
    }

    @Test
    void nativeCopyCompareAndFillAreBoundsChecked() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment small = arena.allocate(8);
            MemorySegment large = arena.allocate(16);
            Memory.fill(large, (byte) 3);
            Memory.copy(large.asSlice(0, 8), small);
            assertEquals(0, Memory.compare(small, large.asSlice(8, 8)));
            large.set(JAVA_BYTE, 15, (byte) 4);
            assertTrue(Memory.compare(small, large.asSlice(8, 8)) < 0);
            assertThrows(IndexOutOfBoundsException.class, () -> Memory.copy(large, small));
            assertThrows(IllegalArgumentException.class, () -> Memory.compare(small, large));
            assertThrows(IllegalArgumentException.class, () -> Memory.fill(MemorySegment.ofArray(new byte[4]), (byte) 0));
        }
    }
}
