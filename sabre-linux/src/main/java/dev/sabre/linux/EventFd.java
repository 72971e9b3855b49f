package dev.sabre.linux;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An eventfd(2): a kernel counter that is readable (for poll) while non-zero. Its use here is to wake a
 * thread that waits in poll(2) on other descriptors, for example to stop a page-fault handler or an accept
 * loop; Java's own interruption cannot reach a thread blocked in a native call.
 */
public final class EventFd implements AutoCloseable {
    private static final int EFD_NONBLOCK = 04000;
    private static final int EFD_CLOEXEC = 02000000;

    private final AtomicInteger fd;

    private EventFd(int fd) {
        this.fd = new AtomicInteger(fd);
    }

    /** A close-on-exec eventfd with counter 0; non-blocking: {@link #read} returns 0 instead of waiting. */
    public static EventFd create(boolean nonBlocking) throws LinuxException {
        int flags = EFD_CLOEXEC | (nonBlocking ? EFD_NONBLOCK : 0);
        return new EventFd(Libc.check("eventfd", Libc.eventfd(0, flags)));
    }

    /** Takes ownership of an eventfd created elsewhere, for example received with SCM_RIGHTS. */
    public static EventFd adopt(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("not a file descriptor: " + fd);
        }
        return new EventFd(fd);
    }

    /** The descriptor, to add to a {@link PollSet} with {@link PollSet#POLLIN}; -1 once closed. */
    public int fd() {
        return fd.get();
    }

    /** Adds 1 to the counter, making the descriptor readable. */
    public void signal() throws LinuxException {
        add(1);
    }

    /** Adds {@code value} (positive) to the counter. */
    public void add(long value) throws LinuxException {
        if (value <= 0) {
            throw new IllegalArgumentException("eventfd increments must be positive: " + value);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(JAVA_LONG);
            buffer.set(JAVA_LONG, 0, value);
            Fds.write(fd(), buffer);
        }
    }

    /**
     * Reads the counter and resets it to 0; when it is 0, waits (blocking) or returns 0 (non-blocking).
     */
    public long read() throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(JAVA_LONG);
            long n;
            do {
                n = Libc.read(fd(), buffer, buffer.byteSize());
            } while (n == -Errno.EINTR);
            if (n == -Errno.EAGAIN) {
                return 0;
            }
            Libc.check("read(eventfd " + fd() + ")", n);
            return buffer.get(JAVA_LONG, 0);
        }
    }

    @Override
    public void close() throws LinuxException {
        int old = fd.getAndSet(-1);
        if (old >= 0) {
            Fds.close(old);
        }
    }
}
