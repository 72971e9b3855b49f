package dev.sabre.restore;

import dev.sabre.linux.Errno;
import dev.sabre.linux.Fds;
import dev.sabre.linux.FileIo;
import dev.sabre.linux.LinuxException;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.atomic.LongAdder;

/**
 * A snapshot file opened for positional reads, either through the page cache (a warm snapshot) or with
 * O_DIRECT (cold storage: no double buffering, no read-ahead, and what a cold restore really costs). Counts
 * the bytes it reads from storage. Thread-safe.
 */
public final class StorageFile implements AutoCloseable {
    private static final long ALIGN = FileIo.DIRECT_IO_ALIGNMENT;

    private final Path path;
    private final int fd;
    private final boolean direct;
    private final LongAdder bytesRead = new LongAdder();

    private StorageFile(Path path, int fd, boolean direct) {
        this.path = path;
        this.fd = fd;
        this.direct = direct;
    }

    /**
     * Opens {@code path}; with {@code direct}, O_DIRECT, falling back to the page cache where the file
     * system refuses it (EINVAL, e.g. tmpfs).
     */
    public static StorageFile open(Path path, boolean direct) throws LinuxException {
        int flags = FileIo.O_RDONLY | FileIo.O_CLOEXEC;
        if (direct) {
            try {
                return new StorageFile(path, FileIo.open(path, flags | FileIo.O_DIRECT), true);
            } catch (LinuxException e) {
                if (e.errno() != Errno.EINVAL) {
                    throw e;
                }
            }
        }
        return new StorageFile(path, FileIo.open(path, flags), false);
    }

    public boolean isDirect() {
        return direct;
    }

    /** Bytes read from the file so far (with O_DIRECT, including alignment padding). */
    public long bytesRead() {
        return bytesRead.sum();
    }

    /** The buffer size {@link #read} needs for {@code length} bytes at any offset (alignment slack included). */
    public static long bufferSizeFor(long length) {
        return Math.ceilDiv(length + ALIGN, ALIGN) * ALIGN + ALIGN;
    }

    /**
     * Reads bytes [offset, offset + length) with one pread (repeated only if short) into {@code buffer}
     * (aligned to {@link FileIo#DIRECT_IO_ALIGNMENT}, at least {@link #bufferSizeFor} bytes) and returns the
     * slice holding them.
     */
    public MemorySegment read(long offset, long length, MemorySegment buffer) throws IOException {
        long start = direct ? offset & -ALIGN : offset;
        long end = direct ? Math.ceilDiv(offset + length, ALIGN) * ALIGN : offset + length;
        long done = 0, want = offset + length - start;
        while (done < want) {
            long n = FileIo.pread(fd, buffer.asSlice(done, end - start - done), start + done);
            if (n == 0) {
                throw new EOFException(path + ": file ends at offset " + (start + done) + ", inside bytes "
                        + offset + ".." + (offset + length) + " (truncated?)");
            }
            done += n;
            bytesRead.add(n);
            if (direct && done < want && done % ALIGN != 0) {
                throw new IOException(path + ": short unaligned O_DIRECT read at offset " + (start + done));
            }
        }
        return buffer.asSlice(offset - start, length);
    }

    @Override
    public void close() {
        Fds.closeQuietly(fd);
    }
}
