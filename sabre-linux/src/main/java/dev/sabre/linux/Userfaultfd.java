package dev.sabre.linux;

import static dev.sabre.linux.UffdAbi.COPY;
import static dev.sabre.linux.UffdAbi.CONTINUE;
import static dev.sabre.linux.UffdAbi.RANGE_LEN;
import static dev.sabre.linux.UffdAbi.RANGE_START;
import static dev.sabre.linux.UffdAbi.ZEROPAGE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A userfaultfd: a descriptor through which this process resolves page faults in memory it registered,
 * its own or (once the descriptor has been passed over a Unix socket) another process's. A fault in a
 * registered range puts the faulting thread to sleep and queues a {@link UffdEvent.PageFault}; the handler
 * reads it ({@link #readEvents}) and installs the page ({@link #copy}, {@link #zeroPage},
 * {@link #continueRange}), which wakes the thread.
 *
 * <p>Addresses are plain {@code long}s because they usually belong to the other process's address space.
 * Operations are thread-safe (the kernel serialises them), so several threads may fill pages at once.
 *
 * <p><b>Never touch registered memory from Java code.</b> A Java thread that blocks in such a fault is not at
 * a safepoint, so the next garbage collection waits for it forever, and the handler thread that would serve
 * the fault waits for the collection: the whole JVM deadlocks. Touch such memory only through native calls
 * (see {@link Memory#copy}), which the JVM treats as safe.
 *
 * <p>Sequence: {@link #create} → {@link #api} (once) → {@link #register} → handle events → {@link #close}.
 * Closing wakes every waiting thread; their faults are then resolved as if nothing was registered (zero
 * pages for anonymous memory), so a handler that gives up must stop the faulting process rather than close.
 */
public final class Userfaultfd implements AutoCloseable {

    public static final long UFFD_FEATURE_PAGEFAULT_FLAG_WP = 1L << 0;
    public static final long UFFD_FEATURE_EVENT_FORK = 1L << 1;
    public static final long UFFD_FEATURE_EVENT_REMAP = 1L << 2;
    public static final long UFFD_FEATURE_EVENT_REMOVE = 1L << 3;
    public static final long UFFD_FEATURE_MISSING_HUGETLBFS = 1L << 4;
    public static final long UFFD_FEATURE_MISSING_SHMEM = 1L << 5;
    public static final long UFFD_FEATURE_EVENT_UNMAP = 1L << 6;
    public static final long UFFD_FEATURE_SIGBUS = 1L << 7;
    public static final long UFFD_FEATURE_THREAD_ID = 1L << 8;
    public static final long UFFD_FEATURE_MINOR_HUGETLBFS = 1L << 9;
    public static final long UFFD_FEATURE_MINOR_SHMEM = 1L << 10;
    public static final long UFFD_FEATURE_EXACT_ADDRESS = 1L << 11;
    public static final long UFFD_FEATURE_WP_HUGETLBFS_SHMEM = 1L << 12;
    public static final long UFFD_FEATURE_WP_UNPOPULATED = 1L << 13;
    public static final long UFFD_FEATURE_POISON = 1L << 14;
    public static final long UFFD_FEATURE_WP_ASYNC = 1L << 15;
    public static final long UFFD_FEATURE_MOVE = 1L << 16;

    public static final long UFFDIO_REGISTER_MODE_MISSING = 1L << 0;
    public static final long UFFDIO_REGISTER_MODE_WP = 1L << 1;
    public static final long UFFDIO_REGISTER_MODE_MINOR = 1L << 2;

    public static final long UFFDIO_COPY_MODE_DONTWAKE = 1L << 0;
    public static final long UFFDIO_COPY_MODE_WP = 1L << 1;
    public static final long UFFDIO_ZEROPAGE_MODE_DONTWAKE = 1L << 0;
    public static final long UFFDIO_CONTINUE_MODE_DONTWAKE = 1L << 0;
    public static final long UFFDIO_CONTINUE_MODE_WP = 1L << 1;
    public static final long UFFDIO_WRITEPROTECT_MODE_WP = 1L << 0;
    public static final long UFFDIO_WRITEPROTECT_MODE_DONTWAKE = 1L << 1;

    /** Bits of the ioctl masks returned by {@link #api} and {@link #register} (1 &lt;&lt; _UFFDIO_*). */
    public static final long IOCTL_REGISTER = 1L << 0x00;
    public static final long IOCTL_UNREGISTER = 1L << 0x01;
    public static final long IOCTL_WAKE = 1L << 0x02;
    public static final long IOCTL_COPY = 1L << 0x03;
    public static final long IOCTL_ZEROPAGE = 1L << 0x04;
    public static final long IOCTL_MOVE = 1L << 0x05;
    public static final long IOCTL_WRITEPROTECT = 1L << 0x06;
    public static final long IOCTL_CONTINUE = 1L << 0x07;
    public static final long IOCTL_POISON = 1L << 0x08;
    public static final long IOCTL_API = 1L << 0x3F;

    /** Size of one {@code struct uffd_msg}. */
    /**
     * The argument of UFFDIO_COPY and UFFDIO_ZEROPAGE, one per thread and reused: these run once per page
     * fault, and an arena per ioctl would cost an allocation and a free on that path. A struct is only
     * used between setting its fields and reading the kernel's answer, on its own thread.
     */
    private static final ThreadLocal<MemorySegment> FILL_ARGUMENT = ThreadLocal.withInitial(() ->
            Arena.ofAuto().allocate(Math.max(COPY.byteSize(), ZEROPAGE.byteSize()), 8));

    public static final int MESSAGE_SIZE = (int) UffdAbi.MSG.byteSize();

    private static final Path DEVICE = Path.of("/dev/userfaultfd");

    private final AtomicInteger fd;

    private Userfaultfd(int fd) {
        this.fd = new AtomicInteger(fd);
    }

    /**
     * Creates a close-on-exec userfaultfd with the userfaultfd(2) system call, or through
     * {@code /dev/userfaultfd} when the system call is refused (EPERM: unprivileged use disabled by
     * {@code vm.unprivileged_userfaultfd}; ENOSYS) and the device exists.
     *
     * @param nonBlocking  reads return no events instead of waiting; handlers that poll want this
     * @param userModeOnly handle only faults raised in user mode ({@code UFFD_USER_MODE_ONLY}), which
     *                     unprivileged processes may be limited to; faults the kernel raises while copying
     *                     into the memory (read(2) into it, for example) then fail with EFAULT instead
     */
    public static Userfaultfd create(boolean nonBlocking, boolean userModeOnly) throws LinuxException {
        int flags = FileIo.O_CLOEXEC | (nonBlocking ? FileIo.O_NONBLOCK : 0)
                | (userModeOnly ? UffdAbi.UFFD_USER_MODE_ONLY : 0);
        long r = Libc.syscall(UffdAbi.SYS_USERFAULTFD, flags);
        if (r >= 0) {
            return new Userfaultfd((int) r);
        }
        int errno = (int) -r;
        LinuxException refused = new LinuxException("userfaultfd", errno);
        if ((errno == Errno.EPERM || errno == Errno.ENOSYS) && Files.exists(DEVICE)) {
            try {
                return createViaDevice(flags);
            } catch (LinuxException e) {
                e.addSuppressed(refused);
                throw e;
            }
        }
        throw refused;
    }

    /** The /dev/userfaultfd way (Linux 6.1+), whose access is governed by the device's file permissions. */
    static Userfaultfd createViaDevice(int flags) throws LinuxException {
        int device = FileIo.open(DEVICE, FileIo.O_RDWR | FileIo.O_CLOEXEC);
        try {
            int uffd = Libc.check("ioctl(" + DEVICE + ", USERFAULTFD_IOC_NEW)",
                    Libc.ioctl(device, UffdAbi.USERFAULTFD_IOC_NEW, (long) flags));
            return new Userfaultfd(uffd);
        } finally {
            Fds.closeQuietly(device);
        }
    }

    /** Takes ownership of a userfaultfd created elsewhere, for example received with SCM_RIGHTS. */
    public static Userfaultfd adopt(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("not a file descriptor: " + fd);
        }
        return new Userfaultfd(fd);
    }

    /**
     * What this kernel offers: creates a throwaway userfaultfd and asks for no features. Useful to choose the
     * features to request, since {@link #api} fails if any requested one is missing.
     */
    public static UffdApi probe() throws LinuxException {
        try (Userfaultfd uffd = create(true, false)) {
            return uffd.api(0);
        }
    }

    /** The descriptor number, to poll or to pass to another process; -1 once closed. */
    public int fd() {
        return fd.get();
    }

    /**
     * {@code UFFDIO_API}: negotiates the API and enables {@code features} ({@code UFFD_FEATURE_*} bits).
     * Must be called exactly once, before anything else; a second call fails with EINVAL.
     */
    public UffdApi api(long features) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment arg = arena.allocate(UffdAbi.API);
            arg.set(JAVA_LONG, UffdAbi.API_API, UffdAbi.UFFD_API);
            arg.set(JAVA_LONG, UffdAbi.API_FEATURES, features);
            Libc.check("ioctl(UFFDIO_API, features=0x" + Long.toHexString(features) + ")",
                    Libc.ioctl(fd(), UffdAbi.UFFDIO_API, arg));
            return new UffdApi(features, arg.get(JAVA_LONG, UffdAbi.API_FEATURES),
                    arg.get(JAVA_LONG, UffdAbi.API_IOCTLS));
        }
    }

    /**
     * {@code UFFDIO_REGISTER}: starts handling faults in [start, start + length), page-aligned, with
     * {@code UFFDIO_REGISTER_MODE_*} bits.
     *
     * @return the ioctls usable on the range ({@code IOCTL_*} bits), e.g. whether {@link #zeroPage} works there
     */
    public long register(long start, long length, long mode) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment arg = arena.allocate(UffdAbi.REGISTER);
            setRange(arg, start, length);
            arg.set(JAVA_LONG, UffdAbi.REGISTER_MODE, mode);
            int r = Libc.ioctl(fd(), UffdAbi.UFFDIO_REGISTER, arg);
            if (r < 0) {
                throw new LinuxException("ioctl(UFFDIO_REGISTER, " + range(start, length) + ", mode="
                        + mode + ")", -r);
            }
            return arg.get(JAVA_LONG, UffdAbi.REGISTER_IOCTLS);
        }
    }

    /** {@code UFFDIO_UNREGISTER}: stops handling faults in the range. */
    public void unregister(long start, long length) throws LinuxException {
        rangeIoctl("UFFDIO_UNREGISTER", UffdAbi.UFFDIO_UNREGISTER, start, length);
    }

    /** {@code UFFDIO_WAKE}: wakes threads waiting on the range, e.g. after fills made with DONTWAKE. */
    public void wake(long start, long length) throws LinuxException {
        rangeIoctl("UFFDIO_WAKE", UffdAbi.UFFDIO_WAKE, start, length);
    }

    /**
     * {@code UFFDIO_COPY}: atomically installs a copy of {@code src} (native memory of this process, a whole
     * number of pages) at {@code dst}, then wakes threads waiting there unless
     * {@link #UFFDIO_COPY_MODE_DONTWAKE}.
     */
    public UffdFill copy(long dst, MemorySegment src, long mode) throws LinuxException {
        if (!src.isNative()) {
            throw new IllegalArgumentException("UFFDIO_COPY needs a native source segment");
        }
        long length = src.byteSize();
        try {
            MemorySegment arg = FILL_ARGUMENT.get();
            arg.set(JAVA_LONG, UffdAbi.COPY_DST, dst);
            arg.set(JAVA_LONG, UffdAbi.COPY_SRC, src.address());
            arg.set(JAVA_LONG, UffdAbi.COPY_LEN, length);
            arg.set(JAVA_LONG, UffdAbi.COPY_MODE, mode);
            int r = Libc.ioctl(fd(), UffdAbi.UFFDIO_COPY, arg);
            return fill("UFFDIO_COPY", dst, length, r, arg.get(JAVA_LONG, UffdAbi.COPY_COPY));
        } finally {
            // The kernel reads src by address: keep its (possibly automatic) arena alive until it is done.
            Reference.reachabilityFence(src);
        }
    }

    /** {@code UFFDIO_ZEROPAGE}: maps the zero page over the range (anonymous memory only). */
    public UffdFill zeroPage(long start, long length, long mode) throws LinuxException {
        MemorySegment arg = FILL_ARGUMENT.get();
        setRange(arg, start, length);
        arg.set(JAVA_LONG, UffdAbi.ZEROPAGE_MODE, mode);
        int r = Libc.ioctl(fd(), UffdAbi.UFFDIO_ZEROPAGE, arg);
        return fill("UFFDIO_ZEROPAGE", start, length, r, arg.get(JAVA_LONG, UffdAbi.ZEROPAGE_ZEROPAGE));
    }

    /**
     * {@code UFFDIO_CONTINUE}: resolves minor faults by mapping the pages already in the page cache
     * (shmem or hugetlbfs registered with {@link #UFFDIO_REGISTER_MODE_MINOR}).
     */
    public UffdFill continueRange(long start, long length, long mode) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment arg = arena.allocate(CONTINUE);
            setRange(arg, start, length);
            arg.set(JAVA_LONG, UffdAbi.CONTINUE_MODE, mode);
            int r = Libc.ioctl(fd(), UffdAbi.UFFDIO_CONTINUE, arg);
            return fill("UFFDIO_CONTINUE", start, length, r, arg.get(JAVA_LONG, UffdAbi.CONTINUE_MAPPED));
        }
    }

    /**
     * {@code UFFDIO_WRITEPROTECT}: write-protects the range ({@link #UFFDIO_WRITEPROTECT_MODE_WP}) or lifts the
     * protection (mode without WP), which wakes threads waiting on a WP fault there unless DONTWAKE.
     */
    public void writeProtect(long start, long length, long mode) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment arg = arena.allocate(UffdAbi.WRITEPROTECT);
            setRange(arg, start, length);
            arg.set(JAVA_LONG, UffdAbi.WRITEPROTECT_MODE, mode);
            int r = Libc.ioctl(fd(), UffdAbi.UFFDIO_WRITEPROTECT, arg);
            if (r < 0) {
                throw new LinuxException("ioctl(UFFDIO_WRITEPROTECT, " + range(start, length) + ")", -r);
            }
        }
    }

    /**
     * Reads up to {@code maxEvents} queued events with one read(2). On a non-blocking descriptor an empty
     * list means none is queued; a blocking one waits for at least one.
     */
    public List<UffdEvent> readEvents(int maxEvents) throws LinuxException {
        if (maxEvents <= 0) {
            throw new IllegalArgumentException("maxEvents must be positive: " + maxEvents);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(UffdAbi.MSG, maxEvents);
            long n;
            do {
                n = Libc.read(fd(), buffer, buffer.byteSize());
            } while (n == -Errno.EINTR);
            if (n == -Errno.EAGAIN) {
                return List.of();
            }
            Libc.check("read(userfaultfd)", n);
            List<UffdEvent> events = new ArrayList<>((int) (n / MESSAGE_SIZE));
            for (long offset = 0; offset + MESSAGE_SIZE <= n; offset += MESSAGE_SIZE) {
                events.add(UffdAbi.decode(buffer.asSlice(offset, MESSAGE_SIZE)));
            }
            return events;
        }
    }

    /**
     * Closes the descriptor once; see the class comment for what that does to waiting threads. Other threads
     * must be done with it: a number closed under a running call may already belong to a new descriptor.
     */
    @Override
    public void close() throws LinuxException {
        int old = fd.getAndSet(-1);
        if (old >= 0) {
            Fds.close(old);
        }
    }

    @Override
    public String toString() {
        return "Userfaultfd[fd=" + fd() + "]";
    }

    private void rangeIoctl(String name, long request, long start, long length) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment arg = arena.allocate(UffdAbi.RANGE);
            setRange(arg, start, length);
            int r = Libc.ioctl(fd(), request, arg);
            if (r < 0) {
                throw new LinuxException("ioctl(" + name + ", " + range(start, length) + ")", -r);
            }
        }
    }

    /** Every ranged struct starts with a {@code struct uffdio_range}. */
    private static void setRange(MemorySegment arg, long start, long length) {
        arg.set(JAVA_LONG, RANGE_START, start);
        arg.set(JAVA_LONG, RANGE_LEN, length);
    }

    /**
     * The kernel writes into the last field either the bytes filled or a negative errno, and returns EAGAIN
     * when it filled part of the range (see {@link UffdFill}).
     */
    private static UffdFill fill(String name, long start, long length, int r, long written) throws LinuxException {
        if (r >= 0) {
            return new UffdFill(length, length, 0);
        }
        int errno = -r;
        if (errno == Errno.EEXIST || errno == Errno.EAGAIN) {
            return new UffdFill(length, Math.max(written, 0), errno);
        }
        throw new LinuxException("ioctl(" + name + ", " + range(start, length) + ")", errno);
    }

    private static String range(long start, long length) {
        return "0x" + Long.toHexString(start) + "+" + length;
    }
}
