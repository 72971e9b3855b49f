package dev.sabre.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;

/**
 * The C library functions this package calls, bound once as FFM downcall handles, each behind a thin wrapper
 * that returns the raw result, or {@code -errno} when the call failed (the kernel's own convention).
 *
 * <p>Handles that can fail capture {@code errno} right after the call with {@link Linker.Option#captureCallState}:
 * anything the JVM runs between the call and a later read (a safepoint, the GC, another downcall) may
 * overwrite it. Variadic functions ({@code open}, {@code fcntl}, {@code ioctl}, {@code syscall}) declare where
 * their variadic part starts with {@link Linker.Option#firstVariadicArg}, as the x86_64 ABI passes those
 * arguments differently. No handle is {@code critical}: a critical downcall stays "in Java" for the
 * safepoint mechanism, which is exactly what a call that may block on a userfaultfd page must not do.
 *
 * <p>A symbol the C library lacks (or a JVM that refuses native access) does not stop this class from
 * loading: that handle throws {@link UnsupportedOperationException} naming the symbol and the reason when
 * it is called, and the rest keep working.
 */
final class Libc {
    private Libc() {}

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    // One errno buffer per thread, so no call allocates just to learn why it failed.
    private static final ThreadLocal<MemorySegment> CALL_STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE_LAYOUT));

    private static final MethodHandle UNAVAILABLE;

    static {
        try {
            UNAVAILABLE = MethodHandles.lookup().findStatic(Libc.class, "unavailable",
                    MethodType.methodType(Object.class, String.class, String.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // Handles live in holder classes per concern: the JVM links a group on first use only, and linking
    // costs milliseconds per handle.

    /** Files, descriptors, ioctl and syscall. */
    private static final class Io {
        static final MethodHandle OPEN = withErrno("open", 2, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
        static final MethodHandle CLOSE = withErrno("close", -1, JAVA_INT, JAVA_INT);
        static final MethodHandle READ = withErrno("read", -1, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
        static final MethodHandle WRITE = withErrno("write", -1, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
        static final MethodHandle PREAD =
                withErrno("pread", -1, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG);
        static final MethodHandle PWRITE =
                withErrno("pwrite", -1, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG);
        static final MethodHandle LSEEK = withErrno("lseek", -1, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT);
        static final MethodHandle FSTAT = withErrno("fstat", -1, JAVA_INT, JAVA_INT, ADDRESS);
        static final MethodHandle FSYNC = withErrno("fsync", -1, JAVA_INT, JAVA_INT);
        static final MethodHandle MKNOD = withErrno("mknod", -1, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG);
        static final MethodHandle UTIMENSAT =
                withErrno("utimensat", -1, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
        static final MethodHandle FTRUNCATE = withErrno("ftruncate", -1, JAVA_INT, JAVA_INT, JAVA_LONG);
        static final MethodHandle FALLOCATE =
                withErrno("fallocate", -1, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG);
        // posix_fadvise returns its error number instead of setting errno.
        static final MethodHandle POSIX_FADVISE =
                plain("posix_fadvise", JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT);
        static final MethodHandle FCNTL = withErrno("fcntl", 2, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle PIPE2 = withErrno("pipe2", -1, JAVA_INT, ADDRESS, JAVA_INT);
        static final MethodHandle IOCTL_PTR = withErrno("ioctl", 2, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS);
        static final MethodHandle IOCTL_LONG = withErrno("ioctl", 2, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG);
        static final MethodHandle SYSCALL1 = withErrno("syscall", 1, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        static final MethodHandle SYSCALL4 =
                withErrno("syscall", 1, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
    }

    /** Virtual memory and the native copy, compare and fill. */
    private static final class Mem {
        static final MethodHandle MMAP =
                withErrno("mmap", -1, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG);
        static final MethodHandle MUNMAP = withErrno("munmap", -1, JAVA_INT, ADDRESS, JAVA_LONG);
        static final MethodHandle MADVISE = withErrno("madvise", -1, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
        static final MethodHandle MPROTECT = withErrno("mprotect", -1, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
        static final MethodHandle MEMFD_CREATE = withErrno("memfd_create", -1, JAVA_INT, ADDRESS, JAVA_INT);
        static final MethodHandle MEMCPY = plain("memcpy", ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
        static final MethodHandle MEMCMP = plain("memcmp", JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG);
        static final MethodHandle MEMSET = plain("memset", ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG);
        static final MethodHandle SYSCONF = plain("sysconf", JAVA_LONG, JAVA_INT);
    }

    /** poll and eventfd. */
    private static final class Events {
        static final MethodHandle POLL = withErrno("poll", -1, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
        static final MethodHandle EVENTFD = withErrno("eventfd", -1, JAVA_INT, JAVA_INT, JAVA_INT);
    }

    /** Unix sockets. */
    private static final class Sockets {
        static final MethodHandle SOCKET = withErrno("socket", -1, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle SOCKETPAIR =
                withErrno("socketpair", -1, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
        static final MethodHandle BIND = withErrno("bind", -1, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
        static final MethodHandle LISTEN = withErrno("listen", -1, JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle ACCEPT4 =
                withErrno("accept4", -1, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
        static final MethodHandle CONNECT = withErrno("connect", -1, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
        static final MethodHandle SHUTDOWN = withErrno("shutdown", -1, JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle SENDMSG = withErrno("sendmsg", -1, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);
        static final MethodHandle RECVMSG = withErrno("recvmsg", -1, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);
        static final MethodHandle GETSOCKOPT =
                withErrno("getsockopt", -1, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    }

    /** Process ids and signals. */
    private static final class Procs {
        static final MethodHandle KILL = withErrno("kill", -1, JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle GETPID = plain("getpid", JAVA_INT);
        static final MethodHandle GETTID = plain("gettid", JAVA_INT);
    }

    /** Error texts: the _np variants (glibc 2.32+) ignore the locale, so messages read the same everywhere. */
    private static final class ErrorText {
        static final MethodHandle STRERRORDESC_NP = optional("strerrordesc_np", ADDRESS, JAVA_INT);
        static final MethodHandle STRERRORNAME_NP = optional("strerrorname_np", ADDRESS, JAVA_INT);
        static final MethodHandle STRERROR = optional("strerror", ADDRESS, JAVA_INT);
    }

    // ---- binding helpers ----------------------------------------------------------------------------

    /** A handle whose first parameter is the segment that receives errno; {@code firstVariadic < 0}: none. */
    private static MethodHandle withErrno(String name, int firstVariadic, MemoryLayout result, MemoryLayout... args) {
        FunctionDescriptor descriptor = FunctionDescriptor.of(result, args);
        Linker.Option[] options = firstVariadic < 0
                ? new Linker.Option[] {CAPTURE_ERRNO}
                : new Linker.Option[] {CAPTURE_ERRNO, Linker.Option.firstVariadicArg(firstVariadic)};
        MethodType type = descriptor.toMethodType().insertParameterTypes(0, MemorySegment.class);
        return bind(name, descriptor, type, options);
    }

    private static MethodHandle plain(String name, MemoryLayout result, MemoryLayout... args) {
        FunctionDescriptor descriptor = FunctionDescriptor.of(result, args);
        return bind(name, descriptor, descriptor.toMethodType());
    }

    /** Like {@link #plain} but null when the symbol is missing, for functions that have a fallback. */
    @SuppressWarnings("restricted") // native access is this class's purpose
    private static MethodHandle optional(String name, MemoryLayout result, MemoryLayout... args) {
        try {
            FunctionDescriptor descriptor = FunctionDescriptor.of(result, args);
            return LINKER.defaultLookup().find(name).map(a -> LINKER.downcallHandle(a, descriptor)).orElse(null);
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    @SuppressWarnings("restricted")
    private static MethodHandle bind(String name, FunctionDescriptor descriptor, MethodType type,
                                     Linker.Option... options) {
        String reason;
        try {
            var symbol = LINKER.defaultLookup().find(name);
            if (symbol.isPresent()) {
                return LINKER.downcallHandle(symbol.get(), descriptor, options);
            }
            reason = "the C library has no symbol '" + name + "'";
        } catch (RuntimeException | LinkageError e) {
            // For example native access denied (--illegal-native-access=deny without --enable-native-access).
            reason = e.toString();
        }
        MethodHandle thrower = MethodHandles.insertArguments(UNAVAILABLE, 0, name, reason);
        return MethodHandles.dropArguments(thrower, 0, type.parameterList()).asType(type);
    }

    @SuppressWarnings("unused") // called through UNAVAILABLE
    private static Object unavailable(String name, String reason) {
        throw new UnsupportedOperationException(name + " is not available: " + reason);
    }

    private static MemorySegment callState() {
        return CALL_STATE.get();
    }

    private static int result(MemorySegment state, int r) {
        return r == -1 ? -(int) ERRNO.get(state, 0L) : r;
    }

    private static long result(MemorySegment state, long r) {
        return r == -1 ? -(int) ERRNO.get(state, 0L) : r;
    }

    /** invokeExact declares Throwable; downcalls themselves only throw unchecked exceptions. */
    private static RuntimeException propagate(Throwable t) {
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new AssertionError("unexpected checked exception from a downcall", t);
    }

    /** Returns {@code r}, or throws when it is a negative errno. */
    static int check(String call, int r) throws LinuxException {
        if (r < 0) {
            throw new LinuxException(call, -r);
        }
        return r;
    }

    static long check(String call, long r) throws LinuxException {
        if (r < 0) {
            throw new LinuxException(call, (int) -r);
        }
        return r;
    }

    // ---- wrappers: raw result or -errno --------------------------------------------------------------

    static int open(MemorySegment path, int flags, int mode) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Io.OPEN.invokeExact(st, path, flags, mode));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int close(int fd) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Io.CLOSE.invokeExact(st, fd));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static long read(int fd, MemorySegment buf, long count) {
        MemorySegment st = callState();
        try {
            return result(st, (long) Io.READ.invokeExact(st, fd, buf, count));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static long write(int fd, MemorySegment buf, long count) {
        MemorySegment st = callState();
        try {
            return result(st, (long) Io.WRITE.invokeExact(st, fd, buf, count));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static long pread(int fd, MemorySegment buf, long count, long offset) {
        MemorySegment st = callState();
        try {
            return result(st, (long) Io.PREAD.invokeExact(st, fd, buf, count, offset));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static long pwrite(int fd, MemorySegment buf, long count, long offset) {
        MemorySegment st = callState();
        try {
            return result(st, (long) Io.PWRITE.invokeExact(st, fd, buf, count, offset));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static long lseek(int fd, long offset, int whence) {
        MemorySegment st = callState();
        try {
            return result(st, (long) Io.LSEEK.invokeExact(st, fd, offset, whence));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int fstat(int fd, MemorySegment stat) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Io.FSTAT.invokeExact(st, fd, stat));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int fsync(int fd) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Io.FSYNC.invokeExact(st, fd));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int ftruncate(int fd, long length) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Io.FTRUNCATE.invokeExact(st, fd, length));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int fallocate(int fd, int mode, long offset, long length) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Io.FALLOCATE.invokeExact(st, fd, mode, offset, length));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int posixFadvise(int fd, long offset, long length, int advice) {
        try {
            return -(int) Io.POSIX_FADVISE.invokeExact(fd, offset, length, advice);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int fcntl(int fd, int cmd, int arg) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Io.FCNTL.invokeExact(st, fd, cmd, arg));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int ioctl(int fd, long request, MemorySegment arg) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Io.IOCTL_PTR.invokeExact(st, fd, request, arg));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int ioctl(int fd, long request, long arg) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Io.IOCTL_LONG.invokeExact(st, fd, request, arg));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static long syscall(long number, long arg) {
        MemorySegment st = callState();
        try {
            return result(st, (long) Io.SYSCALL1.invokeExact(st, number, arg));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static long syscall(long number, long a, long b, long c, long d) {
        MemorySegment st = callState();
        try {
            return result(st, (long) Io.SYSCALL4.invokeExact(st, number, a, b, c, d));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int pipe2(MemorySegment fds, int flags) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Io.PIPE2.invokeExact(st, fds, flags));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int mknod(MemorySegment path, int mode, long dev) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Io.MKNOD.invokeExact(st, path, mode, dev));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int utimensat(int dirFd, MemorySegment path, MemorySegment times, int flags) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Io.UTIMENSAT.invokeExact(st, dirFd, path, times, flags));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    /** The mapping's address, or -errno (no mapping ends in the last page of the address space). */
    static long mmap(long address, long length, int prot, int flags, int fd, long offset) {
        MemorySegment st = callState();
        try {
            MemorySegment p = (MemorySegment) Mem.MMAP.invokeExact(st, MemorySegment.ofAddress(address), length,
                    prot, flags, fd, offset);
            return result(st, p.address()); // MAP_FAILED is (void *) -1
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int munmap(MemorySegment address, long length) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Mem.MUNMAP.invokeExact(st, address, length));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int madvise(MemorySegment address, long length, int advice) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Mem.MADVISE.invokeExact(st, address, length, advice));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int mprotect(MemorySegment address, long length, int prot) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Mem.MPROTECT.invokeExact(st, address, length, prot));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int memfdCreate(MemorySegment name, int flags) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Mem.MEMFD_CREATE.invokeExact(st, name, flags));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static void memcpy(MemorySegment dst, MemorySegment src, long n) {
        try {
            MemorySegment unused = (MemorySegment) Mem.MEMCPY.invokeExact(dst, src, n);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int memcmp(MemorySegment a, MemorySegment b, long n) {
        try {
            return (int) Mem.MEMCMP.invokeExact(a, b, n);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static void memset(MemorySegment dst, int value, long n) {
        try {
            MemorySegment unused = (MemorySegment) Mem.MEMSET.invokeExact(dst, value, n);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static long sysconf(int name) {
        try {
            return (long) Mem.SYSCONF.invokeExact(name);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int poll(MemorySegment fds, long nfds, int timeoutMillis) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Events.POLL.invokeExact(st, fds, nfds, timeoutMillis));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int eventfd(int initval, int flags) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Events.EVENTFD.invokeExact(st, initval, flags));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int socket(int domain, int type, int protocol) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Sockets.SOCKET.invokeExact(st, domain, type, protocol));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int socketpair(int domain, int type, int protocol, MemorySegment fds) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Sockets.SOCKETPAIR.invokeExact(st, domain, type, protocol, fds));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int bind(int fd, MemorySegment address, int length) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Sockets.BIND.invokeExact(st, fd, address, length));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int listen(int fd, int backlog) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Sockets.LISTEN.invokeExact(st, fd, backlog));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int accept4(int fd, int flags) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Sockets.ACCEPT4.invokeExact(st, fd, MemorySegment.NULL, MemorySegment.NULL, flags));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int connect(int fd, MemorySegment address, int length) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Sockets.CONNECT.invokeExact(st, fd, address, length));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int shutdown(int fd, int how) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Sockets.SHUTDOWN.invokeExact(st, fd, how));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static long sendmsg(int fd, MemorySegment msg, int flags) {
        MemorySegment st = callState();
        try {
            return result(st, (long) Sockets.SENDMSG.invokeExact(st, fd, msg, flags));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static long recvmsg(int fd, MemorySegment msg, int flags) {
        MemorySegment st = callState();
        try {
            return result(st, (long) Sockets.RECVMSG.invokeExact(st, fd, msg, flags));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int getsockopt(int fd, int level, int name, MemorySegment value, MemorySegment length) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Sockets.GETSOCKOPT.invokeExact(st, fd, level, name, value, length));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int kill(int pid, int signal) {
        MemorySegment st = callState();
        try {
            return result(st, (int) Procs.KILL.invokeExact(st, pid, signal));
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int getpid() {
        try {
            return (int) Procs.GETPID.invokeExact();
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    static int gettid() {
        try {
            return (int) Procs.GETTID.invokeExact();
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    /** The English description of an errno value, or null when the C library has none. */
    static String errnoDescription(int errno) {
        return string(ErrorText.STRERRORDESC_NP != null ? ErrorText.STRERRORDESC_NP : ErrorText.STRERROR, errno);
    }

    /** The symbolic name of an errno value ("EEXIST"), or null when the C library cannot tell. */
    static String errnoName(int errno) {
        return string(ErrorText.STRERRORNAME_NP, errno);
    }

    @SuppressWarnings("restricted")
    private static String string(MethodHandle function, int errno) {
        if (function == null) {
            return null;
        }
        try {
            MemorySegment s = (MemorySegment) function.invokeExact(errno);
            // The C strings are static text of unknown length; 4 KiB bounds the scan for the terminator.
            return s.equals(MemorySegment.NULL) ? null : s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return null;
        }
    }
}
