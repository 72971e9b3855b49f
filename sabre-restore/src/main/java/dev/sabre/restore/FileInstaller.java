package dev.sabre.restore;

import dev.sabre.linux.FileIo;
import dev.sabre.linux.LinuxException;
import java.io.IOException;
import java.nio.file.Path;
import java.lang.foreign.MemorySegment;

/**
 * Installs pages into a file with pwrite, leaving zero pages as holes: materializes chosen pages of a
 * snapshot as a (sparse) raw memory file, e.g. to pack a recorded working set.
 */
public final class FileInstaller implements Installer {
    private final int fd;
    private final Path name;

    /** Writes through {@code fd}, which the caller owns and has sized to the memory size. */
    public FileInstaller(int fd) {
        this(fd, null);
    }

    /** As {@link #FileInstaller(int)}, naming {@code name} (the file as the user knows it) in errors. */
    public FileInstaller(int fd, Path name) {
        this.fd = fd;
        this.name = name;
    }

    @Override
    public long copy(long offset, MemorySegment data) throws IOException {
        try {
            FileIo.writeFully(fd, data, offset);
        } catch (LinuxException e) {
            if (name == null) {
                throw e;
            }
            throw new IOException("%s: cannot write %d bytes at offset %d: %s".formatted(name, data.byteSize(), offset,
                    e.getMessage()), e);
        }
        return data.byteSize();
    }

    @Override
    public long zero(long offset, long length) {
        return length; // a hole in a file that was only ever extended reads as zeros
    }
}
