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
    /** Global slot of each frame's first page: slots are numbered across all frames in order. */
    private long[] firstSlot = new long[16];
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
        if (frameCount + 1 >= firstSlot.length) {
            firstSlot = java.util.Arrays.copyOf(firstSlot, firstSlot.length * 2);
        }
        firstSlot[frameCount + 1] = firstSlot[frameCount] + pageCount;
        return frameCount++;
    }

    private void ensureFrameTableRoom() {
        if (frameTable.remaining() < SnapshotFormat.FRAME_ENTRY_SIZE) {
            throw new IllegalStateException("more frames than the " + frameTable.capacity() / SnapshotFormat.FRAME_ENTRY_SIZE + " announced");
        }
    }

    /**
     * Writes the metadata and footer, makes the file durable and moves it to the target name.
     *
     * @param extents the page map in page order, STORED extents given per frame (frame and slot of
     *                their first page); runs that continue from one frame into the next are merged
     */
    public void finish(List<Extent> extents, List<PageRun> prefetch) throws IOException {
        long tableAt = position;
        List<long[]> entries = mapEntries(extents);
        ByteBuffer map = ByteBuffer.allocate(Math.multiplyExact(entries.size(), SnapshotFormat.EXTENT_ENTRY_SIZE)).order(SnapshotFormat.ORDER);
        for (long[] e : entries) {
            map.putLong(e[0]).putInt((int) e[1]).putShort((short) e[2]).putShort((short) 0).putLong(e[3]);
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
        SnapshotFooter footer = SnapshotFooter.after(tableAt, frameCount, entries.size(), prefetch.size(), (int) crc.getValue());
        writeAt(ByteBuffer.wrap(footer.encode()), position);
        channel.force(true);
        channel.close();
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        finished = true;
    }

    /**
     * The page map as stored, {first page, count, kind, ref}: STORED refs are global slots, so runs of
     * pages in consecutive slots merge across frames; copies merge when their sources stay inside one
     * merged stored extent.
     */
    private List<long[]> mapEntries(List<Extent> extents) {
        java.util.ArrayList<long[]> stored = new java.util.ArrayList<>();
        for (Extent e : extents) {
            if (e.kind() == PageKind.STORED) {
                if (e.frame() < 0 || e.frame() >= frameCount || e.slot() < 0
                        || firstSlot[e.frame()] + e.slot() + e.pageCount() > firstSlot[e.frame() + 1]) {
                    throw new IllegalArgumentException("extent at page %d points outside frame %d".formatted(e.firstPage(), e.frame()));
                }
                long slot = firstSlot[e.frame()] + e.slot();
                long[] last = stored.isEmpty() ? null : stored.getLast();
                if (last != null && last[0] + last[1] == e.firstPage() && last[3] + last[1] == slot
                        && last[1] + e.pageCount() <= Integer.MAX_VALUE) {
                    last[1] += e.pageCount();
                } else {
                    stored.add(new long[] {e.firstPage(), e.pageCount(), PageKind.STORED.wire, slot});
                }
            }
        }
        long[] storedStarts = stored.stream().mapToLong(e -> e[0]).toArray();
        java.util.ArrayList<long[]> entries = new java.util.ArrayList<>();
        int nextStored = 0;
        for (Extent e : extents) {
            long[] last = entries.isEmpty() ? null : entries.getLast();
            switch (e.kind()) {
                case STORED -> {
                    // Emit each merged run once, at its first piece; later pieces are already in it.
                    if (nextStored < stored.size() && stored.get(nextStored)[0] == e.firstPage()) {
                        entries.add(stored.get(nextStored++));
                    }
                }
                case ZERO -> {
                    if (last != null && last[2] == PageKind.ZERO.wire && last[0] + last[1] == e.firstPage()
                            && last[1] + e.pageCount() <= Integer.MAX_VALUE) {
                        last[1] += e.pageCount();
                    } else {
                        entries.add(new long[] {e.firstPage(), e.pageCount(), PageKind.ZERO.wire, 0});
                    }
                }
                case COPY -> {
                    if (last != null && last[2] == PageKind.COPY.wire && last[0] + last[1] == e.firstPage()
                            && last[3] + last[1] == e.source() && last[1] + e.pageCount() <= Integer.MAX_VALUE
                            && sameStored(storedStarts, stored, last[3], e.source() + e.pageCount() - 1)) {
                        last[1] += e.pageCount();
                    } else {
                        entries.add(new long[] {e.firstPage(), e.pageCount(), PageKind.COPY.wire, e.source()});
                    }
                }
                case ABSENT -> throw new IllegalArgumentException("absent pages are not written to the page map");
            }
        }
        return entries;
    }

    private static boolean sameStored(long[] starts, List<long[]> stored, long a, long b) {
        int i = java.util.Arrays.binarySearch(starts, a);
        i = i >= 0 ? i : -i - 2;
        return i >= 0 && b < stored.get(i)[0] + stored.get(i)[1];
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
