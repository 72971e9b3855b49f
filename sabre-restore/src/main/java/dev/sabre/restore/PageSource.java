package dev.sabre.restore;

import dev.sabre.format.SnapshotFormat;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * Guest memory served one page at a time, for page faults: from a raw memory file ({@link RawMemoryPages})
 * or a .sabre snapshot ({@link SnapshotPages}), which decodes only the frame holding the page.
 * Thread-safe.
 */
public interface PageSource extends AutoCloseable {

    int pageSize();

    /** Size of the guest memory this source describes, in bytes. */
    long memorySize();

    /** Installs page {@code page} (index into the memory file) through {@code installer}; returns bytes installed. */
    long serve(long page, Installer installer) throws IOException;

    /**
     * Installs pages {@code firstPage .. firstPage + count - 1}, as a huge page's assembly needs them; a source
     * that reads a run faster than its pages one by one overrides this. Returns bytes installed.
     */
    default long serveRun(long firstPage, long count, Installer installer) throws IOException {
        long installed = 0;
        for (long page = firstPage; page < firstPage + count; page++) {
            installed += serve(page, installer);
        }
        return installed;
    }

    /** Bytes read from storage so far. */
    long bytesRead();

    /**
     * Whether {@link #bytesRead} also counts what a restore engine reads through this source (a store's one fetch
     * counter), so a session must not add the engine's own count to it.
     */
    default boolean countsRestoreReads() {
        return false;
    }

    @Override
    void close() throws IOException;

    /** Opens {@code file} as a .sabre snapshot if it starts with the snapshot magic, else as a raw memory file. */
    static PageSource open(Path file) throws IOException {
        return isSnapshot(file) ? SnapshotPages.open(file, null) : RawMemoryPages.open(file);
    }

    /** Whether {@code file} starts with the .sabre magic (the reader then validates the rest). */
    static boolean isSnapshot(Path file) throws IOException {
        try (StorageFile storage = StorageFile.open(file, false); Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(StorageFile.bufferSizeFor(8), 4096);
            try {
                return storage.read(0, 8, buffer).get(ValueLayout.JAVA_LONG_UNALIGNED, 0) == SnapshotFormat.MAGIC;
            } catch (java.io.EOFException e) {
                return false;
            }
        }
    }
}
