package dev.sabre.restore;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * Where restored pages go, addressed by memory-file offset: userfaultfd-registered guest memory
 * ({@link UffdInstaller}) or ordinary memory ({@link MemoryInstaller}). Called from several threads at
 * once for disjoint ranges. Lengths are whole pages.
 */
public interface Installer {
    /**
     * Installs {@code data} (native memory) at file offset {@code offset}.
     *
     * @return bytes actually installed; pages already present, or removed by the guest, are skipped
     */
    long copy(long offset, MemorySegment data) throws IOException;

    /** Makes {@code length} bytes at {@code offset} read as zeros; returns bytes installed. */
    long zero(long offset, long length) throws IOException;
}
