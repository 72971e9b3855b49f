package dev.sabre.restore;

import dev.sabre.linux.FileIo;
import dev.sabre.linux.LinuxException;
import java.lang.foreign.MemorySegment;

/**
 * Installs pages into a file with pwrite, leaving zero pages as holes: materializes chosen pages of a
 * snapshot as a (sparse) raw memory file, e.g. to pack a recorded working set.
 */
public final class FileInstaller implements Installer {
    private final int fd;

    /** Writes through {@code fd}, which the caller owns and has sized to the memory size. */
    public FileInstaller(int fd) {
        this.fd = fd;
    }

    @Override
    public long copy(long offset, MemorySegment data) throws LinuxException {
        FileIo.writeFully(fd, data, offset);
        return data.byteSize();
    }

    @Override
    public long zero(long offset, long length) {
        return length; // a hole in a file that was only ever extended reads as zeros
    }
}
