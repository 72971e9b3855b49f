package dev.sabre.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Virtual memory of this process: mmap, munmap, madvise, mprotect, memfd_create, and memcpy / memcmp /
 * memset as native calls.
 *
 * <p><b>Why copy, compare and fill go through the C library.</b> Memory registered with a
 * {@link Userfaultfd} may be missing: touching it blocks the touching thread until a handler fills the page.
 * A Java thread that blocks like that in Java code (a {@link MemorySegment#copy} or a {@code get}, which the
 * JIT turns into plain loads and stores) is still "in Java" as far as the JVM is concerned, so it never
 * reaches a safepoint: the next garbage collection or deoptimization waits for it forever, while the handler
 * thread that would serve the fault is itself stopped for that collection. The whole JVM deadlocks. A thread
 * inside an ordinary (not {@code critical}) native downcall is in native state, which safepoints do not wait
 * for, so blocking there is harmless. Hence: touch registered memory only through {@link #copy},
 * {@link #compare} and {@link #fill} (or other native calls such as read(2)), never from Java code.
 *
 * <p>Segments returned by {@link #mmap} live until {@link #munmap}; no arena frees them.
 */
public final class Memory {
    private Memory() {}

    public static final int PROT_NONE = 0x0;
    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int PROT_EXEC = 0x4;

    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_FIXED = 0x10;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MAP_POPULATE = 0x8000;
    public static final int MAP_HUGETLB = 0x40000;
    public static final int MAP_FIXED_NOREPLACE = 0x100000;

    public static final int MADV_NORMAL = 0;
    public static final int MADV_RANDOM = 1;
    public static final int MADV_SEQUENTIAL = 2;
    public static final int MADV_WILLNEED = 3;
    public static final int MADV_DONTNEED = 4;
    public static final int MADV_FREE = 8;
    public static final int MADV_REMOVE = 9;
    public static final int MADV_DONTFORK = 10;
    public static final int MADV_DOFORK = 11;
    public static final int MADV_HUGEPAGE = 14;
    public static final int MADV_NOHUGEPAGE = 15;
    public static final int MADV_POPULATE_READ = 22;
    public static final int MADV_POPULATE_WRITE = 23;

    public static final int MFD_CLOEXEC = 0x1;
    public static final int MFD_ALLOW_SEALING = 0x2;
    public static final int MFD_HUGETLB = 0x4;

    private static final int SC_PAGESIZE = 30;
    private static final long PAGE_SIZE = Libc.sysconf(SC_PAGESIZE);

    /** The base page size (4096 on x86_64). */
    public static long pageSize() {
        return PAGE_SIZE;
    }

    /**
     * mmap(2). {@code address} is a hint, or exact with {@link #MAP_FIXED}; 0 lets the kernel choose.
     *
     * @return the mapping as a segment of {@code length} bytes
     */
    @SuppressWarnings("restricted") // the kernel just made those bytes addressable
    public static MemorySegment mmap(long address, long length, int prot, int flags, int fd, long offset)
            throws LinuxException {
        long p = Libc.mmap(address, length, prot, flags, fd, offset);
        if (p < 0 && p >= -4095) {
            throw new LinuxException("mmap(length=" + length + ", prot=0x" + Integer.toHexString(prot)
                    + ", flags=0x" + Integer.toHexString(flags) + ", fd=" + fd + ", offset=" + offset + ")",
                    (int) -p);
        }
        return MemorySegment.ofAddress(p).reinterpret(length);
    }

    /** A private, anonymous, read-write mapping with no swap reservation: zero-filled on first touch. */
    public static MemorySegment mapAnonymous(long length) throws LinuxException {
        return mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }

    /** munmap(2) of the whole segment. The segment (and any slice of it) must not be used afterwards. */
    public static void munmap(MemorySegment mapping) throws LinuxException {
        Libc.check("munmap(" + describe(mapping) + ")", Libc.munmap(mapping, mapping.byteSize()));
    }

    /** madvise(2) over the segment, with a {@code MADV_*} advice. */
    public static void madvise(MemorySegment range, int advice) throws LinuxException {
        Libc.check("madvise(" + describe(range) + ", " + advice + ")",
                Libc.madvise(range, range.byteSize(), advice));
    }

    /** mprotect(2) over the segment, with {@code PROT_*} bits. */
    public static void mprotect(MemorySegment range, int prot) throws LinuxException {
        Libc.check("mprotect(" + describe(range) + ", 0x" + Integer.toHexString(prot) + ")",
                Libc.mprotect(range, range.byteSize(), prot));
    }

    /**
     * memfd_create(2): an anonymous file in memory (shmem), empty until sized with
     * {@link FileIo#ftruncate}; {@code flags} are {@code MFD_*} bits.
     *
     * @return the new descriptor; the caller closes it
     */
    public static int memfdCreate(String name, int flags) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            return Libc.check("memfd_create(" + name + ")", Libc.memfdCreate(arena.allocateFrom(name), flags));
        }
    }

    /** memcpy: copies all of {@code src} to the start of {@code dst}. Both must be native and not overlap. */
    public static void copy(MemorySegment src, MemorySegment dst) {
        requireNative(src);
        requireNative(dst);
        if (dst.byteSize() < src.byteSize()) {
            throw new IndexOutOfBoundsException("copy of " + src.byteSize() + " bytes into " + dst.byteSize());
        }
        Libc.memcpy(dst, src, src.byteSize());
    }

    /** memcmp of two native segments of the same size: negative, zero or positive, as memcmp. */
    public static int compare(MemorySegment a, MemorySegment b) {
        requireNative(a);
        requireNative(b);
        if (a.byteSize() != b.byteSize()) {
            throw new IllegalArgumentException("compare of " + a.byteSize() + " with " + b.byteSize() + " bytes");
        }
        return Libc.memcmp(a, b, a.byteSize());
    }

    /** memset: sets every byte of the native segment to {@code value}. */
    public static void fill(MemorySegment dst, byte value) {
        requireNative(dst);
        Libc.memset(dst, Byte.toUnsignedInt(value), dst.byteSize());
    }

    private static void requireNative(MemorySegment segment) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("a native memory segment is needed, not " + segment);
        }
    }

    private static String describe(MemorySegment range) {
        return "0x" + Long.toHexString(range.address()) + "+" + range.byteSize();
    }
}
