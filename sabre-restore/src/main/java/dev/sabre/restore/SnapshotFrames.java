package dev.sabre.restore;

import dev.sabre.format.SnapshotReader;
import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * A .sabre file's frames for the restore engine: each chunk read with one pread (O_DIRECT or through the
 * page cache), each frame checked against its CRC32C. The reader stays the caller's.
 */
public final class SnapshotFrames implements FrameSource {
    private final SnapshotReader reader;
    private final RestorePlan plan;
    private final StorageFile storage;

    private SnapshotFrames(SnapshotReader reader, RestorePlan plan, StorageFile storage) {
        this.reader = reader;
        this.plan = plan;
        this.storage = storage;
    }

    /** Every present page of {@code reader}, read in chunks of {@code options.chunkBytes()}, with O_DIRECT if asked. */
    public static SnapshotFrames open(SnapshotReader reader, RestoreOptions options) throws IOException {
        RestorePlan plan = RestorePlan.of(reader, options.chunkBytes());
        return new SnapshotFrames(reader, plan, StorageFile.open(reader.path(), options.directIo()));
    }

    @Override
    public String name() {
        return reader.path().toString();
    }

    @Override
    public int pageSize() {
        return reader.header().pageSize();
    }

    @Override
    public RestorePlan plan() {
        return plan;
    }

    @Override
    public int frameOf(long page) {
        return page < 0 || page >= reader.header().pageCount() ? -1 : reader.frameOf(page);
    }

    @Override
    public int workers(RestoreOptions options) {
        return options.workers();
    }

    @Override
    public boolean readsWait() {
        return storage.isDirect();
    }

    @Override
    public boolean directIo() {
        return storage.isDirect();
    }

    @Override
    public long readBufferBytes() {
        return StorageFile.bufferSizeFor(Math.max(1, plan.maxStoredBytes()));
    }

    @Override
    public MemorySegment read(RestorePlan.Chunk chunk, MemorySegment buffer) throws IOException {
        return storage.read(chunk.fileOffset(), chunk.storedBytes(), buffer);
    }

    @Override
    public void checkFrame(int frame, MemorySegment stored) throws IOException {
        reader.checkFrame(frame, stored);
    }

    @Override
    public long storedLength(int frame) {
        return reader.frames().get(frame).storedLength();
    }

    @Override
    public boolean compressed(int frame) {
        return reader.frames().get(frame).compressed();
    }

    @Override
    public long frameBytes(int frame) {
        return reader.frameBytes(frame);
    }

    @Override
    public void decodeFrame(int frame, MemorySegment stored, MemorySegment raw) throws IOException {
        reader.decodeFrame(frame, stored, raw);
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
