package dev.sabre.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a descriptor received from another process really is, checked before it is trusted as a
 * userfaultfd: its /proc link must be exactly the kernel's anonymous userfaultfd inode (a memfd or a file
 * merely named "userfaultfd" has a different link), and its fdinfo says which features it was created with.
 */
public final class UffdDescriptor {
    private UffdDescriptor() {}

    private static final String LINK = "anon_inode:[userfaultfd]";
    /** The kernel's internal "UFFDIO_API done" flag, shown in fdinfo next to the requested features. */
    private static final long FEATURE_INITIALIZED = 1L << 31;

    /**
     * The features the userfaultfd {@code fd} was set up with (UFFDIO_API), as the {@code API:} line of its
     * fdinfo reports them.
     *
     * @throws LinuxException EINVAL with a reason if {@code fd} is not a userfaultfd, or one on which
     *                        UFFDIO_API was never called
     */
    public static long features(int fd) throws LinuxException {
        String call = "checking fd " + fd;
        String link;
        try {
            link = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException | UnsupportedOperationException e) {
            throw new LinuxException(call, Errno.EBADF, "cannot read /proc/self/fd/" + fd + ": " + e.getMessage());
        }
        if (!link.equals(LINK)) {
            throw new LinuxException(call, Errno.EINVAL, "not a userfaultfd but " + printable(link));
        }
        long features = -1;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
                if (line.startsWith("API:")) {
                    features = Long.parseUnsignedLong(line.substring(4).trim().split(":")[1], 16);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new LinuxException(call, Errno.EINVAL, "unreadable userfaultfd fdinfo: " + e.getMessage());
        }
        if (features == -1) {
            throw new LinuxException(call, Errno.EINVAL, "userfaultfd fdinfo has no API line");
        }
        if ((features & FEATURE_INITIALIZED) == 0) {
            throw new LinuxException(call, Errno.EINVAL, "userfaultfd was never initialised with UFFDIO_API");
        }
        return features & ~FEATURE_INITIALIZED;
    }

    private static String printable(String link) {
        String s = link.length() > 80 ? link.substring(0, 80) + "..." : link;
        return s.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
