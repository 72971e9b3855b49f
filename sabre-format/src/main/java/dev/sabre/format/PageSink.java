package dev.sabre.format;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * Where decoded pages go during a restore: a memory file, a memory segment, or (in the page-fault
 * handler) a userfaultfd. Calls come from several threads at once, for disjoint pages.
 */
public interface PageSink {
    /** Pages {@code firstPage ..} hold {@code data}, a whole number of pages, which is only valid during the call. */
    void write(long firstPage, MemorySegment data) throws IOException;

    /** {@code count} pages from {@code firstPage} are all zero. */
    void zero(long firstPage, long count) throws IOException;

    /**
     * A place to decode these pages into directly, saving a copy (Sabre decompresses straight to the
     * guest offset), or null to receive them through {@link #write}. The default is null.
     */
    default MemorySegment direct(long firstPage, long count) {
        return null;
    }
}
