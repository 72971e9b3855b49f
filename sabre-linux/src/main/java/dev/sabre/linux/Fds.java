package dev.sabre.linux;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Operations common to every file descriptor: close, dup, fcntl flags, pipes, and plain read / write
 * into native memory. Descriptors are plain {@code int}s so they can travel over SCM_RIGHTS and into
 * {@link PollSet}s unchanged.
 */
public final class Fds {
    private Fds() {}

    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final int F_GETFD = 1;
    private static final int F_SETFD = 2;
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int FD_CLOEXEC = 1;

    /** The two ends of a pipe; closing the record closes both. */
    public record Pipe(int readFd, int writeFd) implements AutoCloseable {
        @Override
        public void close() {
            closeQuietly(readFd);
            closeQuietly(writeFd);
        }
    }

    /**
     * close(2). Never retried on EINTR: Linux frees the descriptor even then, and a retry could close a
     * descriptor another thread has just been given.
     */
    public static void close(int fd) throws LinuxException {
        int r = Libc.close(fd);
        if (r < 0 && r != -Errno.EINTR) {
            throw new LinuxException("close(fd " + fd + ")", -r);
        }
    }

    /** close(2) for clean-up paths, where a second error would only hide the first. */
    public static void closeQuietly(int fd) {
        if (fd >= 0) {
            Libc.close(fd);
        }
    }

    /** A duplicate of {@code fd} that, unlike dup(2)'s, is close-on-exec (F_DUPFD_CLOEXEC). */
    public static int dup(int fd) throws LinuxException {
        return Libc.check("fcntl(fd " + fd + ", F_DUPFD_CLOEXEC)", Libc.fcntl(fd, F_DUPFD_CLOEXEC, 0));
    }

    /** fcntl(F_GETFL): the status flags ({@code FileIo.O_*}: access mode, O_NONBLOCK, O_APPEND, ...). */
    public static int getFlags(int fd) throws LinuxException {
        return Libc.check("fcntl(fd " + fd + ", F_GETFL)", Libc.fcntl(fd, F_GETFL, 0));
    }

    /** fcntl(F_SETFL): only O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME and O_NONBLOCK can change. */
    public static void setFlags(int fd, int flags) throws LinuxException {
        Libc.check("fcntl(fd " + fd + ", F_SETFL, 0x" + Integer.toHexString(flags) + ")",
                Libc.fcntl(fd, F_SETFL, flags));
    }

    /** Switches O_NONBLOCK on or off. */
    public static void setNonBlocking(int fd, boolean nonBlocking) throws LinuxException {
        int flags = getFlags(fd);
        setFlags(fd, nonBlocking ? flags | FileIo.O_NONBLOCK : flags & ~FileIo.O_NONBLOCK);
    }

    /** fcntl(F_GETFD) & FD_CLOEXEC. */
    public static boolean isCloseOnExec(int fd) throws LinuxException {
        return (Libc.check("fcntl(fd " + fd + ", F_GETFD)", Libc.fcntl(fd, F_GETFD, 0)) & FD_CLOEXEC) != 0;
    }

    /** fcntl(F_SETFD): whether the descriptor closes on exec, e.g. cleared to hand it to a child process. */
    public static void setCloseOnExec(int fd, boolean closeOnExec) throws LinuxException {
        Libc.check("fcntl(fd " + fd + ", F_SETFD)", Libc.fcntl(fd, F_SETFD, closeOnExec ? FD_CLOEXEC : 0));
    }

    /** pipe2(2), always close-on-exec; {@code flags} may add {@code FileIo.O_NONBLOCK} or {@code O_DIRECT}. */
    public static Pipe pipe(int flags) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(JAVA_INT, 2);
            Libc.check("pipe2", Libc.pipe2(fds, flags | FileIo.O_CLOEXEC));
            return new Pipe(fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1));
        }
    }

    /**
     * read(2) into {@code dst} (native).
     *
     * @return bytes read, 0 at end of file; EAGAIN on a non-blocking descriptor is thrown
     */
    public static long read(int fd, MemorySegment dst) throws LinuxException {
        long n;
        do {
            n = Libc.read(fd, dst, dst.byteSize());
        } while (n == -Errno.EINTR);
        return Libc.check("read(fd " + fd + ", " + dst.byteSize() + " bytes)", n);
    }

    /** write(2) of {@code src} (native); returns bytes written, possibly fewer. */
    public static long write(int fd, MemorySegment src) throws LinuxException {
        long n;
        do {
            n = Libc.write(fd, src, src.byteSize());
        } while (n == -Errno.EINTR);
        return Libc.check("write(fd " + fd + ", " + src.byteSize() + " bytes)", n);
    }
}
