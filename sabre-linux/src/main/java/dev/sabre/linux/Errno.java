package dev.sabre.linux;

/**
 * The errno values callers of this package test for, with their names and descriptions.
 *
 * <p>Values are those of Linux on x86_64 ({@code <asm-generic/errno-base.h>}, {@code <asm-generic/errno.h>}).
 * Descriptions come from the C library ({@code strerrordesc_np}, which ignores the locale, so messages read
 * the same on every machine).
 */
public final class Errno {
    private Errno() {}

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int ENOSPC = 28;
    public static final int ESPIPE = 29;
    public static final int EPIPE = 32;
    public static final int ENAMETOOLONG = 36;
    public static final int ENOSYS = 38;
    public static final int ENOTSOCK = 88;
    public static final int EMSGSIZE = 90;
    public static final int ENOPROTOOPT = 92;
    public static final int EOPNOTSUPP = 95;
    public static final int EADDRINUSE = 98;
    public static final int ECONNRESET = 104;
    public static final int ENOTCONN = 107;
    public static final int ECONNREFUSED = 111;

    /** The symbolic name, e.g. {@code "EEXIST"}; {@code "errno N"} for a value the C library does not know. */
    public static String name(int errno) {
        String name = Libc.errnoName(errno);
        return name != null ? name : "errno " + errno;
    }

    /** The description, e.g. {@code "File exists"}; {@code "Unknown error N"} for an unknown value. */
    public static String describe(int errno) {
        String text = Libc.errnoDescription(errno);
        return text != null ? text : "Unknown error " + errno;
    }
}
