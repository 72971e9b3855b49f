package dev.sabre.format;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/** Reads a whole snapshot into memory by random access alone, frame by frame: what the format module offers. */
final class RandomAccessRead {
    private RandomAccessRead() {
    }

    /** Every present page of {@code reader} into {@code memory} (the whole memory); absent pages are left as they are. */
    static void readAll(SnapshotReader reader, MemorySegment memory) throws IOException {
        long pageSize = reader.header().pageSize();
        try (PageReader pages = reader.pageReader()) {
            int decodedFrame = -1;
            MemorySegment frame = null;
            for (Extent e : reader.extents()) {
                MemorySegment dst = memory.asSlice(e.firstPage() * pageSize, e.pageCount() * pageSize);
                if (e.kind() == PageKind.ZERO) {
                    dst.fill((byte) 0);
                } else if (e.kind() == PageKind.STORED) {
                    if (e.frame() != decodedFrame) {
                        frame = pages.frame(e.frame());
                        decodedFrame = e.frame();
                    }
                    dst.copyFrom(frame.asSlice(e.slot() * pageSize, e.pageCount() * pageSize));
                }
            }
            for (Extent e : reader.extents()) { // copies last: their sources are all in place now
                if (e.kind() == PageKind.COPY) {
                    MemorySegment.copy(memory, e.source() * pageSize, memory, e.firstPage() * pageSize, e.pageCount() * pageSize);
                }
            }
        }
    }
}
