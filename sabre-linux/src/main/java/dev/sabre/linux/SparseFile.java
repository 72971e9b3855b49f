package dev.sabre.linux;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The allocated parts of a sparse file, found with lseek(2) SEEK_DATA / SEEK_HOLE without reading a byte.
 * A VM's memory file is mostly holes; copying or compressing only its data extents saves reading gigabytes
 * of zeros.
 *
 * <p>Extents are what the file system reports: block-granular, and a file system may report unwritten
 * (preallocated) blocks as data. One that does not support SEEK_DATA reports the whole file as one extent,
 * which is correct, merely not sparse.
 */
public final class SparseFile {
    private SparseFile() {}

    /** [offset, offset + length) of a file holds data. */
    public record Extent(long offset, long length) {
        public long end() {
            return offset + length;
        }
    }

    /** The data extents of the file at {@code path}, in file order. */
    public static List<Extent> dataExtents(Path path) throws IOException {
        int fd = FileIo.open(path, FileIo.O_RDONLY | FileIo.O_CLOEXEC);
        try {
            return dataExtents(fd);
        } catch (LinuxException e) {
            LinuxException named = new LinuxException(e.call() + " on " + path, e.errno());
            named.initCause(e);
            throw named;
        } finally {
            Fds.closeQuietly(fd);
        }
    }

    /** The data extents of an open file; its file offset is left changed. */
    public static List<Extent> dataExtents(int fd) throws LinuxException {
        List<Extent> extents = new ArrayList<>();
        long position = 0;
        while (true) {
            long data = Libc.lseek(fd, position, FileIo.SEEK_DATA);
            if (data == -Errno.ENXIO) {
                return extents; // no data at or after position: only a hole up to the end of the file
            }
            if (data == -Errno.EINVAL && position == 0) {
                return wholeFile(fd); // SEEK_DATA not supported here
            }
            Libc.check("lseek(fd " + fd + ", " + position + ", SEEK_DATA)", data);
            // Every file ends with a virtual hole, so this finds at least the end of the file.
            long hole = Libc.check("lseek(fd " + fd + ", " + data + ", SEEK_HOLE)",
                    Libc.lseek(fd, data, FileIo.SEEK_HOLE));
            extents.add(new Extent(data, hole - data));
            position = hole;
        }
    }

    private static List<Extent> wholeFile(int fd) throws LinuxException {
        long size = FileIo.size(fd);
        return size == 0 ? List.of() : List.of(new Extent(0, size));
    }
}
