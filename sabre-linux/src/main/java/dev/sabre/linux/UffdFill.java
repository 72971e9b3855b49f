package dev.sabre.linux;

/**
 * The outcome of an ioctl that fills registered pages ({@code UFFDIO_COPY}, {@code UFFDIO_ZEROPAGE},
 * {@code UFFDIO_CONTINUE}) when it did not fail outright. The two outcomes a page-fault handler expects in
 * normal operation are reported here instead of as exceptions:
 * <ul>
 *   <li>{@link Errno#EEXIST}: the first page of the range is already there (another thread or a prefetch
 *       filled it first); nothing was filled.</li>
 *   <li>{@link Errno#EAGAIN}: the kernel stopped early, after {@link #bytes()} bytes (the count it writes back
 *       into the ioctl's argument, 0 if none), because the memory map is changing (an event such as REMOVE is
 *       pending and must be read first) or because a later page already exists. Fill the rest again; a page
 *       already present then shows up as EEXIST.</li>
 * </ul>
 * Every other error throws {@link LinuxException} ({@link Errno#ESRCH}: the process that owns the memory has
 * exited).
 *
 * @param requested the length asked for
 * @param bytes     how many bytes were filled, from the start of the range
 * @param errno     0 when the whole range was filled, else {@link Errno#EEXIST} or {@link Errno#EAGAIN}
 */
public record UffdFill(long requested, long bytes, int errno) {

    /** The whole range was filled. */
    public boolean complete() {
        return errno == 0;
    }

    /** Nothing was filled because the first page already exists. */
    public boolean alreadyPresent() {
        return errno == Errno.EEXIST;
    }

    /** The kernel stopped after {@link #bytes()}; the rest must be filled again after reading pending events. */
    public boolean mustRetry() {
        return errno == Errno.EAGAIN;
    }
}
