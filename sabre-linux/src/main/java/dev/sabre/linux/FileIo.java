package dev.sabre.linux;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.nio.file.Path;

/**
 * Files by descriptor, with the flags and hints {@link java.nio} does not offer: open with
 * {@link #O_DIRECT} (reads that bypass the page cache, for cold-storage measurements), positional reads
 * and writes straight into native memory, posix_fadvise, fallocate, and lseek with SEEK_DATA / SEEK_HOLE
 * (see {@link SparseFile}).
 *
 * <p>O_DIRECT transfers need buffer address, length and file offset aligned to the device's logical block
 * size; {@link #alignedBuffer} gives buffers aligned to {@value #DIRECT_IO_ALIGNMENT}, which suits every
 * common device.
 */
public final class FileIo {
    private FileIo() {}

    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 01;
    public static final int O_RDWR = 02;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_TRUNC = 01000;
    public static final int O_APPEND = 02000;
    public static final int O_NONBLOCK = 04000;
    public static final int O_DSYNC = 010000;
    public static final int O_DIRECT = 040000;
    public static final int O_DIRECTORY = 0200000;
    public static final int O_NOFOLLOW = 0400000;
    public static final int O_NOATIME = 01000000;
    public static final int O_CLOEXEC = 02000000;
    public static final int O_SYNC = 04010000;

    public static final int SEEK_SET = 0;
    public static final int SEEK_CUR = 1;
    public static final int SEEK_END = 2;
    public static final int SEEK_DATA = 3;
    public static final int SEEK_HOLE = 4;

    public static final int POSIX_FADV_NORMAL = 0;
    public static final int POSIX_FADV_RANDOM = 1;
    public static final int POSIX_FADV_SEQUENTIAL = 2;
    public static final int POSIX_FADV_WILLNEED = 3;
    public static final int POSIX_FADV_DONTNEED = 4;
    public static final int POSIX_FADV_NOREUSE = 5;

    public static final int FALLOC_FL_KEEP_SIZE = 0x01;
    public static final int FALLOC_FL_PUNCH_HOLE = 0x02;

    /** Alignment of {@link #alignedBuffer}s: the page size, a multiple of every common logical block size. */
    public static final int DIRECT_IO_ALIGNMENT = 4096;

    /** {@code struct stat} of x86_64; only st_size is read. */
    static final StructLayout STAT = MemoryLayout.structLayout(
            JAVA_LONG.withName("st_dev"), JAVA_LONG.withName("st_ino"), JAVA_LONG.withName("st_nlink"),
            JAVA_INT.withName("st_mode"), JAVA_INT.withName("st_uid"), JAVA_INT.withName("st_gid"),
            MemoryLayout.paddingLayout(4), JAVA_LONG.withName("st_rdev"), JAVA_LONG.withName("st_size"),
            JAVA_LONG.withName("st_blksize"), JAVA_LONG.withName("st_blocks"),
            MemoryLayout.sequenceLayout(6, JAVA_LONG).withName("st_times"),
            MemoryLayout.sequenceLayout(3, JAVA_LONG).withName("reserved"));
    static final long STAT_SIZE = STAT.byteOffset(MemoryLayout.PathElement.groupElement("st_size"));

    /**
     * open(2) with {@code O_*} flags and, with {@link #O_CREAT}, a permission {@code mode} such as 0644.
     * Callers almost always want {@link #O_CLOEXEC}.
     *
     * @return the new descriptor; the caller closes it ({@link Fds#close})
     */
    public static int open(Path path, int flags, int mode) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cpath = arena.allocateFrom(path.toString());
            int fd;
            do {
                fd = Libc.open(cpath, flags, mode);
            } while (fd == -Errno.EINTR);
            return Libc.check("open(" + path + ")", fd);
        }
    }

    /** File-type bits of mknod(2)'s {@code mode}, or'ed with the permission bits. */
    public static final int S_IFIFO = 0010000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;

    /**
     * mknod(2): creates a device node ({@link #S_IFCHR}, {@link #S_IFBLK}) or FIFO ({@link #S_IFIFO}) at
     * {@code path}; never follows a symbolic link there (the call fails with EEXIST). The umask applies.
     */
    public static void mknod(Path path, int mode, int major, int minor) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            Libc.check("mknod(" + path + ")", Libc.mknod(arena.allocateFrom(path.toString()), mode,
                    makedev(major, minor)));
        }
    }

    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;

    /**
     * utimensat(2) with AT_SYMLINK_NOFOLLOW: sets the access and modification times of {@code path} itself,
     * also when it is a symbolic link, FIFO or device node. Unlike {@code java.nio}'s setTimes, it never opens
     * the file (opening a FIFO blocks until a writer comes; opening a device can have effects).
     */
    public static void setTimes(Path path, java.time.Instant accessed, java.time.Instant modified)
            throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment times = arena.allocate(JAVA_LONG, 4); // struct timespec[2]
            times.setAtIndex(JAVA_LONG, 0, accessed.getEpochSecond());
            times.setAtIndex(JAVA_LONG, 1, accessed.getNano());
            times.setAtIndex(JAVA_LONG, 2, modified.getEpochSecond());
            times.setAtIndex(JAVA_LONG, 3, modified.getNano());
            Libc.check("utimensat(" + path + ")", Libc.utimensat(AT_FDCWD, arena.allocateFrom(path.toString()),
                    times, AT_SYMLINK_NOFOLLOW));
        }
    }

    /** glibc's makedev(3): the 64-bit dev_t for a major and minor number. */
    static long makedev(int major, int minor) {
        long ma = major & 0xffffffffL;
        long mi = minor & 0xffffffffL;
        return ((ma & 0xfffff000L) << 32) | ((ma & 0xfffL) << 8) | ((mi & 0xffffff00L) << 12) | (mi & 0xffL);
    }

    /** open(2) without a mode, for flags without {@link #O_CREAT}. */
    public static int open(Path path, int flags) throws LinuxException {
        return open(path, flags, 0);
    }

    /**
     * pread(2) into {@code dst} (native) from {@code offset}.
     *
     * @return bytes read, fewer than asked only at end of file (0 there) or for special files
     */
    public static long pread(int fd, MemorySegment dst, long offset) throws LinuxException {
        long n;
        do {
            n = Libc.pread(fd, dst, dst.byteSize(), offset);
        } while (n == -Errno.EINTR);
        if (n < 0) {
            throw new LinuxException("pread(fd " + fd + ", " + dst.byteSize() + " bytes at " + offset + ")",
                    (int) -n);
        }
        return n;
    }

    /** pwrite(2) of {@code src} (native) at {@code offset}; returns bytes written, possibly fewer. */
    public static long pwrite(int fd, MemorySegment src, long offset) throws LinuxException {
        long n;
        do {
            n = Libc.pwrite(fd, src, src.byteSize(), offset);
        } while (n == -Errno.EINTR);
        if (n < 0) {
            throw new LinuxException("pwrite(fd " + fd + ", " + src.byteSize() + " bytes at " + offset + ")",
                    (int) -n);
        }
        return n;
    }

    /** Fills all of {@code dst} from {@code offset}, or throws {@link EOFException} naming where the file ended. */
    public static void readFully(int fd, MemorySegment dst, long offset) throws IOException {
        long done = 0;
        while (done < dst.byteSize()) {
            long n = pread(fd, dst.asSlice(done), offset + done);
            if (n == 0) {
                throw new EOFException("fd " + fd + ": end of file at offset " + (offset + done) + ", "
                        + (dst.byteSize() - done) + " of " + dst.byteSize() + " bytes missing");
            }
            done += n;
        }
    }

    /** Writes all of {@code src} at {@code offset}. */
    public static void writeFully(int fd, MemorySegment src, long offset) throws LinuxException {
        long done = 0;
        while (done < src.byteSize()) {
            done += pwrite(fd, src.asSlice(done), offset + done);
        }
    }

    /** The file's size in bytes (fstat st_size). */
    public static long size(int fd) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stat = arena.allocate(STAT);
            Libc.check("fstat(fd " + fd + ")", Libc.fstat(fd, stat));
            return stat.get(JAVA_LONG, STAT_SIZE);
        }
    }

    /** lseek(2) with a {@code SEEK_*} whence; returns the resulting offset. */
    public static long lseek(int fd, long offset, int whence) throws LinuxException {
        return Libc.check("lseek(fd " + fd + ", " + offset + ", " + whence + ")", Libc.lseek(fd, offset, whence));
    }

    /** posix_fadvise(2) with a {@code POSIX_FADV_*} advice; length 0 means to the end of the file. */
    public static void fadvise(int fd, long offset, long length, int advice) throws LinuxException {
        Libc.check("posix_fadvise(fd " + fd + ", " + offset + ", " + length + ", " + advice + ")",
                Libc.posixFadvise(fd, offset, length, advice));
    }

    /** fsync(2). */
    public static void fsync(int fd) throws LinuxException {
        Libc.check("fsync(fd " + fd + ")", Libc.fsync(fd));
    }

    /** ftruncate(2): sets the size; growing adds a hole. */
    public static void ftruncate(int fd, long length) throws LinuxException {
        Libc.check("ftruncate(fd " + fd + ", " + length + ")", Libc.ftruncate(fd, length));
    }

    /**
     * fallocate(2): reserves blocks, or with {@link #FALLOC_FL_PUNCH_HOLE} | {@link #FALLOC_FL_KEEP_SIZE}
     * deallocates a range so it reads as zeros and becomes a hole.
     */
    public static void fallocate(int fd, int mode, long offset, long length) throws LinuxException {
        Libc.check("fallocate(fd " + fd + ", " + mode + ", " + offset + ", " + length + ")",
                Libc.fallocate(fd, mode, offset, length));
    }

    /**
     * A buffer for O_DIRECT transfers: {@code size} rounded up to {@value #DIRECT_IO_ALIGNMENT} bytes,
     * at an address aligned to {@value #DIRECT_IO_ALIGNMENT}, zeroed, freed with {@code arena}.
     */
    public static MemorySegment alignedBuffer(Arena arena, long size) {
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
        long rounded = Math.ceilDiv(size, DIRECT_IO_ALIGNMENT) * DIRECT_IO_ALIGNMENT;
        return arena.allocate(rounded, DIRECT_IO_ALIGNMENT);
    }
}
