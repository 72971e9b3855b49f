package dev.sabre.format;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Writes a .sabre file front to back: header, frames in order, then the metadata and the footer.
 * Everything goes to a temporary file beside the target that is fsynced and renamed over it only by
 * {@link #finish}; closing an unfinished writer deletes it, so a failed pack leaves nothing behind.
 */
public final class SnapshotWriter implements AutoCloseable {
    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private final SnapshotHeader header;
    private final ByteBuffer frameTable;
    private long position = SnapshotFormat.HEADER_SIZE;
    private int frameCount;
    private boolean finished;

    public SnapshotWriter(Path target, SnapshotHeader header, int expectedFrames) throws IOException {
        this.target = target;
        this.header = header;
        Path dir = target.toAbsolutePath().getParent();
        this.temp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        this.channel = FileChannel.open(temp, StandardOpenOption.WRITE);
        this.frameTable = ByteBuffer.allocate(Math.max(1, expectedFrames) * SnapshotFormat.FRAME_ENTRY_SIZE).order(SnapshotFormat.ORDER);
        writeAt(ByteBuffer.wrap(header.encode()), 0);
    }

    /** Appends the next frame: {@code stored} is its bytes (compressed, or the raw pages). Returns its index. */
    public int addFrame(MemorySegment stored, int pageCount, boolean compressed) throws IOException {
        long raw = (long) pageCount * header.pageSize();
        if (pageCount <= 0 || pageCount > header.framePages() || (!compressed && stored.byteSize() != raw)
                || (compressed && stored.byteSize() >= raw)) {
            throw new IllegalArgumentException("frame of %d pages with %d stored bytes (compressed %b) breaks the format"
                    .formatted(pageCount, stored.byteSize(), compressed));
        }
        CRC32C crc = new CRC32C();
        crc.update(stored.asByteBuffer());
        writeAt(stored.asByteBuffer(), position);
        ensureFrameTableRoom();
        frameTable.putLong(position).putInt((int) stored.byteSize()).putInt(pageCount)
                .putInt((int) crc.getValue()).putInt(compressed ? 1 : 0);
        position += stored.byteSize();
        return frameCount++;
    }

    private void ensureFrameTableRoom() {
        if (frameTable.remaining() < SnapshotFormat.FRAME_ENTRY_SIZE) {
            throw new IllegalStateException("more frames than the " + frameTable.capacity() / SnapshotFormat.FRAME_ENTRY_SIZE + " announced");
        }
    }

    /** Writes the metadata and footer, makes the file durable and moves it to the target name. */
    public void finish(List<Extent> extents, List<PageRun> prefetch) throws IOException {
        long tableAt = position;
        ByteBuffer map = ByteBuffer.allocate(Math.multiplyExact(extents.size(), SnapshotFormat.EXTENT_ENTRY_SIZE)).order(SnapshotFormat.ORDER);
        for (Extent e : extents) {
            long ref = switch (e.kind()) {
                case ZERO -> 0;
                case STORED -> ((long) e.frame() << 32) | e.slot();
                case COPY -> e.source();
                case ABSENT -> throw new IllegalArgumentException("absent pages are not written to the page map");
            };
            map.putLong(e.firstPage()).putInt(e.pageCount()).putShort((short) e.kind().wire).putShort((short) 0).putLong(ref);
        }
        ByteBuffer runs = ByteBuffer.allocate(Math.multiplyExact(prefetch.size(), SnapshotFormat.PREFETCH_ENTRY_SIZE)).order(SnapshotFormat.ORDER);
        for (PageRun r : prefetch) {
            runs.putLong(r.firstPage()).putInt(r.pageCount());
        }
        CRC32C crc = new CRC32C();
        for (ByteBuffer section : List.of(frameTable.flip(), map.flip(), runs.flip())) {
            crc.update(section.duplicate());
            writeAt(section, position);
            position += section.limit();
        }
        long mapAt = tableAt + (long) frameCount * SnapshotFormat.FRAME_ENTRY_SIZE;
        long prefetchAt = prefetch.isEmpty() ? 0 : mapAt + (long) extents.size() * SnapshotFormat.EXTENT_ENTRY_SIZE;
        ByteBuffer footer = ByteBuffer.allocate(SnapshotFormat.FOOTER_SIZE).order(SnapshotFormat.ORDER);
        footer.putLong(tableAt).putLong(frameCount).putLong(mapAt).putLong(extents.size())
                .putLong(prefetchAt).putLong(prefetch.size()).putInt((int) crc.getValue());
        footer.putInt(SnapshotHeader.crc(footer.array(), 0, 52)).putLong(SnapshotFormat.END_MAGIC);
        writeAt(footer.flip(), position);
        channel.force(true);
        channel.close();
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        finished = true;
    }

    private void writeAt(ByteBuffer buffer, long at) throws IOException {
        long offset = at;
        while (buffer.hasRemaining()) {
            offset += channel.write(buffer, offset);
        }
    }

    @Override
    public void close() throws IOException {
        if (!finished) {
            channel.close();
            Files.deleteIfExists(temp);
        }
    }
}
