package dev.sabre.restore;

import dev.sabre.linux.Memory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Installs guest memory in units larger than the snapshot's pages, as a VMM's 2 MiB huge pages over a
 * snapshot of 4 KiB pages need it: hugetlb memory is filled only by whole huge pages (a smaller
 * UFFDIO_COPY is EINVAL, and UFFDIO_ZEROPAGE does not apply at all). The unit is assembled from the
 * source's pages in a staging buffer (zero and absent pages written as zeros; a .sabre source decodes only
 * the frames those pages live in), then goes in with one copy. Not thread-safe: one per thread.
 */
public final class HugePageStager {
    private final PageSource source;
    private final long unitBytes;
    private final MemorySegment staging;
    private final Installer stage = new Installer() {
        @Override
        public long copy(long offset, MemorySegment data) {
            Memory.copy(data, staging.asSlice(offset - unitStart, data.byteSize()));
            return data.byteSize();
        }

        @Override
        public long zero(long offset, long length) {
            Memory.fill(staging.asSlice(offset - unitStart, length), (byte) 0);
            return length;
        }
    };
    private long unitStart;

    /** A stager of {@code unitBytes} units (a multiple of the source's page size) over {@code source}. */
    public HugePageStager(PageSource source, long unitBytes) {
        if (unitBytes <= 0 || unitBytes % source.pageSize() != 0) {
            throw new IllegalArgumentException("unit of " + unitBytes + " bytes is not a multiple of the snapshot's "
                    + source.pageSize() + "-byte pages");
        }
        this.source = source;
        this.unitBytes = unitBytes;
        this.staging = Arena.ofAuto().allocate(unitBytes, 4096);
    }

    public long unitBytes() {
        return unitBytes;
    }

    /** Assembles unit {@code unit} (file offsets {@code unit * unitBytes ..}) and installs it; returns bytes installed. */
    public long install(long unit, Installer target) throws IOException {
        return target.copy(unit * unitBytes, assemble(unit));
    }

    /** Assembles unit {@code unit} in the staging buffer and returns it (valid until the next call). */
    public MemorySegment assemble(long unit) throws IOException {
        unitStart = unit * unitBytes;
        long pageSize = source.pageSize();
        source.serveRun(unitStart / pageSize, unitBytes / pageSize, stage);
        return staging;
    }
}
