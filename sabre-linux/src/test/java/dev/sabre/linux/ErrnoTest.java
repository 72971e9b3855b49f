package dev.sabre.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ErrnoTest {

    @Test
    void messagesNameTheCallTheErrorAndTheNumber() {
        LinuxException e = new LinuxException("ioctl(UFFDIO_COPY)", Errno.EEXIST);
        assertEquals("ioctl(UFFDIO_COPY): File exists (errno 17)", e.getMessage());
        assertEquals(17, e.errno());
        assertEquals("ioctl(UFFDIO_COPY)", e.call());
        assertEquals("EEXIST", e.errnoName());
        assertEquals("EAGAIN", Errno.name(Errno.EAGAIN));
        assertEquals("Resource temporarily unavailable", Errno.describe(Errno.EAGAIN));
        assertEquals("errno 4000", Errno.name(4000));
        assertEquals("Unknown error 4000", Errno.describe(4000));
    }

    @Test
    void constantsAgreeWithTheCLibrary() {
        int[] values = {Errno.EPERM, Errno.ENOENT, Errno.ESRCH, Errno.EINTR, Errno.EIO, Errno.ENXIO, Errno.EBADF,
            Errno.EAGAIN, Errno.ENOMEM, Errno.EACCES, Errno.EFAULT, Errno.EBUSY, Errno.EEXIST, Errno.ENODEV,
            Errno.EINVAL, Errno.EMFILE, Errno.ENOSPC, Errno.ESPIPE, Errno.EPIPE, Errno.ENAMETOOLONG, Errno.ENOSYS,
            Errno.ENOTSOCK, Errno.EMSGSIZE, Errno.EOPNOTSUPP, Errno.EADDRINUSE, Errno.ECONNRESET, Errno.ENOTCONN,
            Errno.ECONNREFUSED};
        String[] names = {"EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "EBADF", "EAGAIN", "ENOMEM",
            "EACCES", "EFAULT", "EBUSY", "EEXIST", "ENODEV", "EINVAL", "EMFILE", "ENOSPC", "ESPIPE", "EPIPE",
            "ENAMETOOLONG", "ENOSYS", "ENOTSOCK", "EMSGSIZE", "EOPNOTSUPP", "EADDRINUSE", "ECONNRESET", "ENOTCONN",
            "ECONNREFUSED"};
        for (int i = 0; i < values.length; i++) {
            assertEquals(names[i], Errno.name(values[i]));
        }
    }

    @Test
    void openingAMissingFileNamesThePathAndEnoent(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-file");
        LinuxException e = assertThrows(LinuxException.class,
                () -> FileIo.open(missing, FileIo.O_RDONLY | FileIo.O_CLOEXEC));
        assertEquals(Errno.ENOENT, e.errno());
        assertEquals("open(" + missing + "): No such file or directory (errno 2)", e.getMessage());
        assertEquals(IOException.class, e.getClass().getSuperclass());
    }

    @Test
    void badDescriptorsAreReportedNotCrashed() {
        LinuxException e = assertThrows(LinuxException.class, () -> Fds.close(-5));
        assertEquals(Errno.EBADF, e.errno());
        assertEquals("close(fd -5): Bad file descriptor (errno 9)", e.getMessage());
    }
}
