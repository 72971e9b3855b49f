package dev.sabre.restore;

import dev.sabre.linux.Memory;
import java.lang.foreign.MemorySegment;

/**
 * Installs pages into ordinary memory with native memcpy / memset: the restore target when no VMM is
 * involved (a benchmark's floor, tests, unpacking into a mapping).
 */
public final class MemoryInstaller implements Installer {
    private final MemorySegment memory;

    /** {@code memory} is the whole guest memory; file offset 0 is its first byte. */
    public MemoryInstaller(MemorySegment memory) {
        this.memory = memory;
    }

    @Override
    public long copy(long offset, MemorySegment data) {
        Memory.copy(data, memory.asSlice(offset, data.byteSize()));
        return data.byteSize();
    }

    @Override
    public long zero(long offset, long length) {
        Memory.fill(memory.asSlice(offset, length), (byte) 0);
        return length;
    }
}
