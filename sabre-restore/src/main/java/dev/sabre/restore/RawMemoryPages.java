package dev.sabre.restore;

import dev.sabre.linux.FileIo;
import dev.sabre.linux.Memory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A raw guest memory file (Firecracker's Full memory file, QEMU's RAM file) served page by page with
 * pread. Reads rather than maps, so a file truncated under us gives an error, not a SIGBUS.
 */
public final class RawMemoryPages implements PageSource {
    private final Path path;
    private final StorageFile storage;
    private final long size;
    private final int pageSize;
    private final ThreadLocal<MemorySegment> buffer;
    private final ThreadLocal<MemorySegment[]> runBuffer = ThreadLocal.withInitial(() -> new MemorySegment[1]);

    private RawMemoryPages(Path path, StorageFile storage, long size, int pageSize) {
        this.path = path;
        this.storage = storage;
        this.size = size;
        this.pageSize = pageSize;
        this.buffer = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(StorageFile.bufferSizeFor(pageSize), 4096));
    }

    /** Opens {@code path}, whose size must be a positive multiple of the page size. */
    public static RawMemoryPages open(Path path) throws IOException {
        int pageSize = (int) Memory.pageSize();
        StorageFile storage = StorageFile.open(path, false);
        long size;
        int fd = FileIo.open(path, FileIo.O_RDONLY | FileIo.O_CLOEXEC);
        try {
            size = FileIo.size(fd);
        } finally {
            dev.sabre.linux.Fds.closeQuietly(fd);
        }
        if (size <= 0 || size % pageSize != 0) {
            storage.close();
            throw new IOException(path + ": size " + size + " is not a positive multiple of the page size "
                    + pageSize + "; not a raw guest memory file");
        }
        return new RawMemoryPages(path, storage, size, pageSize);
    }

    public Path path() {
        return path;
    }

    @Override
    public int pageSize() {
        return pageSize;
    }

    @Override
    public long memorySize() {
        return size;
    }

    @Override
    public long serve(long page, Installer installer) throws IOException {
        long offset = page * pageSize;
        if (page < 0 || offset >= size) {
            throw new IOException(path + ": page " + page + " is outside the " + size + "-byte memory file");
        }
        return installer.copy(offset, storage.read(offset, pageSize, buffer.get()));
    }

    /** One pread for the whole run (a huge page is 512 pages) instead of one per page. */
    @Override
    public long serveRun(long firstPage, long count, Installer installer) throws IOException {
        long offset = firstPage * pageSize, length = count * pageSize;
        if (firstPage < 0 || count < 0 || offset + length > size) {
            throw new IOException(path + ": pages " + firstPage + " + " + count + " reach past the " + size
                    + "-byte memory file");
        }
        MemorySegment[] held = runBuffer.get();
        long need = StorageFile.bufferSizeFor(length);
        if (held[0] == null || held[0].byteSize() < need) {
            held[0] = Arena.ofAuto().allocate(need, 4096);
        }
        return installer.copy(offset, storage.read(offset, length, held[0]));
    }

    @Override
    public long bytesRead() {
        return storage.bytesRead();
    }

    @Override
    public void close() {
        storage.close();
    }
}
