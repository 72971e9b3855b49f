package dev.sabre.linux;

import java.io.IOException;

/**
 * A Linux system call failed: carries the {@code errno} value, so callers can react to specific causes
 * ({@link Errno#EEXIST}, {@link Errno#EAGAIN}, ...), and a message that names the call, what it was
 * called on, and the C library's description of the error, for example
 * {@code ioctl(UFFDIO_COPY): File exists (errno 17)}.
 *
 * <p>It is an {@link IOException} because every call in this package is I/O with the kernel, and checked
 * because a caller serving a VM must decide what each failure means rather than let it escape.
 */
public final class LinuxException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    /** {@code call} names the call and, in parentheses, what it was called on: {@code open(/tmp/x)}. */
    public LinuxException(String call, int errno) {
        this(call, errno, Errno.describe(errno));
    }

    /** For failures the kernel reports without errno text of its own, e.g. a truncated control message. */
    public LinuxException(String call, int errno, String reason) {
        super(call + ": " + reason + " (errno " + errno + ")");
        this.call = call;
        this.errno = errno;
    }

    /** The positive errno value, as in {@code <errno.h>}. */
    public int errno() {
        return errno;
    }

    /** The failed call as given to the constructor, e.g. {@code ioctl(UFFDIO_COPY)}. */
    public String call() {
        return call;
    }

    /** The symbolic name of {@link #errno()}, e.g. {@code EEXIST}. */
    public String errnoName() {
        return Errno.name(errno);
    }
}
