package dev.sabre.format;

import dev.sabre.codec.Codec;
import dev.sabre.codec.CodecException;
import dev.sabre.codec.CodecId;
import dev.sabre.codec.Codecs;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Opens a .sabre file and gives random access to its pages.
 *
 * <p>{@link #open} reads only the header, the footer and the metadata sections, checks their
 * checksums and every structural rule of FORMAT.md (so nothing later can index out of bounds or
 * allocate more than one frame), and keeps them in memory. Frame bytes are read on demand and their
 * CRC32C is checked before a single byte is decoded, so corrupt data never reaches a destination.
 * Random access only: pages and frames one at a time into buffers the caller owns ({@link PageReader}
 * holds a set for one thread); reading a whole snapshot in parallel is sabre-restore's work.
 * Thread-safe: positional reads and one codec per thread.
 */
public final class SnapshotReader implements AutoCloseable {
    private final Path path;
    private final FileChannel channel;
    private final long fileSize;
    private final SnapshotHeader header;
    private final List<FrameInfo> frames;
    private final List<Extent> extents;
    private final long[] extentStarts;
    private final List<PageRun> prefetch;
    /** Entries in the file's page map (the in-memory list splits them at frame boundaries). */
    private final long storedExtents;
    private final ThreadLocal<Codec> codec;
    private final long maxFrameBytes;
    private final long maxStoredBytes;

    private SnapshotReader(Path path, FileChannel channel, long fileSize, SnapshotHeader header, List<FrameInfo> frames,
                           List<Extent> extents, List<PageRun> prefetch, long storedExtents) {
        this.storedExtents = storedExtents;
        this.path = path;
        this.channel = channel;
        this.fileSize = fileSize;
        this.header = header;
        this.frames = frames;
        this.extents = extents;
        this.prefetch = prefetch;
        this.extentStarts = extents.stream().mapToLong(Extent::firstPage).toArray();
        CodecId id = header.codec();
        this.codec = Codecs.threadLocal(() -> Codecs.decoder(id));
        this.maxFrameBytes = frames.stream().mapToLong(f -> (long) f.pageCount() * header.pageSize()).max().orElse(0);
        this.maxStoredBytes = frames.stream().mapToLong(FrameInfo::storedLength).max().orElse(0);
    }

    /** Opens and validates {@code path}; throws {@link CorruptSnapshotException} naming the field at fault. */
    public static SnapshotReader open(Path path) throws IOException {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return parse(path, channel);
        } catch (Throwable e) {
            channel.close();
            throw e;
        }
    }

    private static SnapshotReader parse(Path path, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size < SnapshotFormat.HEADER_SIZE + SnapshotFormat.FOOTER_SIZE) {
            if (size >= 8 && readFully(path, channel, 0, 8).getLong(0) != SnapshotFormat.MAGIC) {
                throw new CorruptSnapshotException(path, "not a Sabre snapshot (no magic at offset 0)");
            }
            throw new CorruptSnapshotException(path, "truncated: %d bytes, less than a header and a footer (%d)"
                    .formatted(size, SnapshotFormat.HEADER_SIZE + SnapshotFormat.FOOTER_SIZE));
        }
        SnapshotHeader header = SnapshotHeader.decode(path, readFully(path, channel, 0, SnapshotFormat.HEADER_SIZE).array());
        long footerAt = size - SnapshotFormat.FOOTER_SIZE;
        SnapshotFooter footer = SnapshotFooter.decode(path, readFully(path, channel, footerAt, SnapshotFormat.FOOTER_SIZE), footerAt);
        long frameTableAt = footer.frameTableOffset();
        long pageMapAt = footer.pageMapOffset();
        long pageMapEnd = footer.pageMapEnd();
        if (footerAt - frameTableAt > Integer.MAX_VALUE - 16) {
            throw new CorruptSnapshotException(path, "metadata of %d bytes is larger than this reader accepts (2 GiB)"
                    .formatted(footerAt - frameTableAt));
        }
        ByteBuffer meta = readFully(path, channel, frameTableAt, (int) (footerAt - frameTableAt));
        int metaCrc = SnapshotHeader.crc(meta.array(), 0, meta.capacity());
        if (footer.metadataCrc() != metaCrc) {
            throw new CorruptSnapshotException(path, "metadata checksum mismatch (sections at offsets %d..%d: stored 0x%08x, computed 0x%08x)"
                    .formatted(frameTableAt, footerAt, footer.metadataCrc(), metaCrc));
        }
        List<FrameInfo> frames = parseFrames(path, header, meta, (int) footer.frameCount(), frameTableAt);
        List<Extent> extents = parseExtents(path, header, meta, (int) (pageMapAt - frameTableAt), (int) footer.extentCount(), pageMapAt, frames);
        List<PageRun> prefetch = parsePrefetch(path, header, meta, (int) (pageMapEnd - frameTableAt), (int) footer.prefetchCount(), pageMapEnd, extents);
        return new SnapshotReader(path, channel, size, header, frames, extents, prefetch, footer.extentCount());
    }

    private static List<FrameInfo> parseFrames(Path path, SnapshotHeader header, ByteBuffer meta, int count, long tableAt)
            throws CorruptSnapshotException {
        List<FrameInfo> frames = new ArrayList<>(count);
        long expectedOffset = SnapshotFormat.HEADER_SIZE;
        for (int i = 0; i < count; i++) {
            int at = i * SnapshotFormat.FRAME_ENTRY_SIZE;
            long entryAt = tableAt + at;
            long offset = meta.getLong(at);
            int stored = meta.getInt(at + 8);
            int pages = meta.getInt(at + 12);
            int crc = meta.getInt(at + 16);
            int encoding = meta.getInt(at + 20);
            String where = "frame %d (table entry at offset %d)".formatted(i, entryAt);
            if (offset != expectedOffset) {
                throw new CorruptSnapshotException(path, "%s: offset is %d, expected %d".formatted(where, offset, expectedOffset));
            }
            if (pages <= 0 || pages > header.framePages()) {
                throw new CorruptSnapshotException(path, "%s: page_count is %d, outside 1..%d (the header's frame bound)"
                        .formatted(where, pages, header.framePages()));
            }
            long raw = (long) pages * header.pageSize();
            if (encoding != 0 && encoding != 1) {
                throw new CorruptSnapshotException(path, "%s: encoding is %d, expected 0 (raw) or 1 (compressed)".formatted(where, encoding));
            }
            boolean compressed = encoding == 1;
            if (compressed && header.codec() == CodecId.NONE) {
                throw new CorruptSnapshotException(path, "%s: marked compressed but the snapshot's codec is none".formatted(where));
            }
            if (compressed ? stored <= 0 || stored >= raw : stored != raw) {
                throw new CorruptSnapshotException(path, "%s: stored_length is %d for %d raw bytes (%s)"
                        .formatted(where, stored, raw, compressed ? "a compressed frame must be smaller" : "a raw frame must equal them"));
            }
            if (offset + stored > tableAt) {
                throw new CorruptSnapshotException(path, "%s: data at %d..%d runs past the frame table at %d"
                        .formatted(where, offset, offset + stored, tableAt));
            }
            frames.add(new FrameInfo(offset, stored, pages, crc, compressed));
            expectedOffset = offset + stored;
        }
        if (expectedOffset != tableAt) {
            throw new CorruptSnapshotException(path, "frame data ends at offset %d but the frame table starts at %d"
                    .formatted(expectedOffset, tableAt));
        }
        return Collections.unmodifiableList(frames);
    }

    /**
     * Parses the page map as stored: a STORED extent's reference is a global slot (slots numbered across
     * all frames in order), so one extent can run through many small frames. The returned list is the
     * in-memory view, where every STORED extent lies in one frame and every COPY's source in one frame.
     */
    private static List<Extent> parseExtents(Path path, SnapshotHeader header, ByteBuffer meta, int base, int count,
                                             long mapAt, List<FrameInfo> frames) throws CorruptSnapshotException {
        long[] firstSlot = new long[frames.size() + 1];
        for (int f = 0; f < frames.size(); f++) {
            firstSlot[f + 1] = firstSlot[f] + frames.get(f).pageCount();
        }
        long totalSlots = firstSlot[frames.size()];
        long memoryPages = header.pageCount();
        long[] first = new long[count];
        int[] pages = new int[count];
        PageKind[] kinds = new PageKind[count];
        long[] refs = new long[count];
        long previousEnd = 0;
        for (int i = 0; i < count; i++) {
            int at = base + i * SnapshotFormat.EXTENT_ENTRY_SIZE;
            String where = where(mapAt, i);
            first[i] = meta.getLong(at);
            pages[i] = meta.getInt(at + 8);
            int kindWire = Short.toUnsignedInt(meta.getShort(at + 12));
            int reserved = Short.toUnsignedInt(meta.getShort(at + 14));
            refs[i] = meta.getLong(at + 16);
            kinds[i] = PageKind.fromWire(kindWire);
            if (kinds[i] == null || reserved != 0) {
                throw new CorruptSnapshotException(path, "%s: kind is %d (reserved %d); expected 1 zero, 2 stored or 3 copy"
                        .formatted(where, kindWire, reserved));
            }
            if (pages[i] <= 0 || first[i] < previousEnd || first[i] > memoryPages || pages[i] > memoryPages - first[i]) {
                throw new CorruptSnapshotException(path, "%s: pages %d..%d are unordered, overlapping or outside the memory's %d pages"
                        .formatted(where, first[i], first[i] + Integer.toUnsignedLong(pages[i]), memoryPages));
            }
            long ref = refs[i];
            switch (kinds[i]) {
                case ZERO -> {
                    if (ref != 0) {
                        throw new CorruptSnapshotException(path, "%s: a zero extent has reference %d, expected 0".formatted(where, ref));
                    }
                }
                case STORED -> {
                    if (ref < 0 || ref > totalSlots - pages[i]) {
                        throw new CorruptSnapshotException(path, "%s: slots %d..%d do not exist (the %d frames hold %d slots)"
                                .formatted(where, ref, ref + pages[i], frames.size(), totalSlots));
                    }
                }
                case COPY -> {
                    if (ref < 0 || ref > memoryPages - pages[i]) {
                        throw new CorruptSnapshotException(path, "%s: copies pages %d.. which lie outside the memory's %d pages"
                                .formatted(where, ref, memoryPages));
                    }
                }
                default -> throw new AssertionError(kinds[i]);
            }
            previousEnd = first[i] + pages[i];
        }
        checkTiling(path, mapAt, first, pages, kinds, refs, totalSlots);
        List<Extent> extents = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            switch (kinds[i]) {
                case ZERO -> extents.add(Extent.zero(first[i], pages[i]));
                case STORED -> split(first[i], pages[i], refs[i], firstSlot, (page, n, frame, slot) ->
                        extents.add(Extent.stored(page, n, frame, slot)));
                case COPY -> {
                    // The source must lie in one stored extent: no chains, no zero or absent sources.
                    int s = find(first, refs[i]);
                    if (s < 0 || kinds[s] != PageKind.STORED || refs[i] + pages[i] > first[s] + pages[s]) {
                        throw new CorruptSnapshotException(path, "%s: copies pages %d..%d, which are not all in one stored extent"
                                .formatted(where(mapAt, i), refs[i], refs[i] + pages[i]));
                    }
                    // Kept whole: splitting copies at the source's frame boundaries here would let a small
                    // hostile map (many copies of one long run of one-page frames) demand billions of objects.
                    extents.add(Extent.copy(first[i], pages[i], refs[i]));
                }
                default -> throw new AssertionError(kinds[i]);
            }
        }
        return Collections.unmodifiableList(extents);
    }

    private static String where(long mapAt, int i) {
        return "page map entry %d (offset %d)".formatted(i, mapAt + (long) i * SnapshotFormat.EXTENT_ENTRY_SIZE);
    }

    private interface Piece {
        void accept(long page, int count, int frame, int slot);
    }

    /** Splits pages {@code page..+count} stored from global slot {@code slot} at frame boundaries. */
    private static void split(long page, int count, long slot, long[] firstSlot, Piece piece) {
        int frame = find(firstSlot, slot);
        while (count > 0) {
            while (firstSlot[frame + 1] <= slot) {
                frame++; // skip to the frame holding this slot
            }
            int n = (int) Math.min(count, firstSlot[frame + 1] - slot);
            piece.accept(page, n, frame, (int) (slot - firstSlot[frame]));
            page += n;
            slot += n;
            count -= n;
        }
    }

    /** The STORED extents' slot ranges must cover every slot of every frame exactly once. */
    private static void checkTiling(Path path, long mapAt, long[] first, int[] pages, PageKind[] kinds, long[] refs,
                                    long totalSlots) throws CorruptSnapshotException {
        List<Integer> stored = new ArrayList<>();
        for (int i = 0; i < kinds.length; i++) {
            if (kinds[i] == PageKind.STORED) {
                stored.add(i);
            }
        }
        stored.sort((a, b) -> Long.compare(refs[a], refs[b]));
        long next = 0;
        for (int i : stored) {
            if (refs[i] != next) {
                throw new CorruptSnapshotException(path, "%s: slot %d is %s by the page map".formatted(where(mapAt, i), next,
                        refs[i] < next ? "claimed twice" : "not claimed"));
            }
            next += pages[i];
        }
        if (next != totalSlots) {
            throw new CorruptSnapshotException(path, "the frames hold %d slots but the page map places %d pages in them"
                    .formatted(totalSlots, next));
        }
    }

    private static List<PageRun> parsePrefetch(Path path, SnapshotHeader header, ByteBuffer meta, int base, int count,
                                               long prefetchAt, List<Extent> extents) throws CorruptSnapshotException {
        long[] starts = extents.stream().mapToLong(Extent::firstPage).toArray();
        // runEnd[e]: where the gap-free run of extents starting at e ends, so each entry is one lookup.
        long[] runEnd = new long[extents.size()];
        for (int e = extents.size() - 1; e >= 0; e--) {
            long end = extents.get(e).endPage();
            runEnd[e] = e + 1 < extents.size() && starts[e + 1] == end ? runEnd[e + 1] : end;
        }
        long[] runFirst = new long[count];
        int[] runPages = new int[count];
        for (int i = 0; i < count; i++) {
            int at = base + i * SnapshotFormat.PREFETCH_ENTRY_SIZE;
            long first = meta.getLong(at);
            int pages = meta.getInt(at + 8);
            if (pages <= 0 || first < 0 || first > header.pageCount() - pages) {
                throw new CorruptSnapshotException(path, "prefetch entry %d (offset %d): pages %d..%d are outside the memory's %d pages"
                        .formatted(i, prefetchAt + (long) i * SnapshotFormat.PREFETCH_ENTRY_SIZE, first,
                                first + Integer.toUnsignedLong(pages), header.pageCount()));
            }
            // Every prefetched page must be present: the run must lie in one gap-free run of extents.
            int e = find(starts, first);
            if (e < 0 || extents.get(e).endPage() <= first || runEnd[e] < first + pages) {
                long absent = e < 0 || extents.get(e).endPage() <= first ? first : runEnd[e];
                throw new CorruptSnapshotException(path, "prefetch entry %d (offset %d): page %d is absent from the snapshot"
                        .formatted(i, prefetchAt + (long) i * SnapshotFormat.PREFETCH_ENTRY_SIZE, absent));
            }
            runFirst[i] = first;
            runPages[i] = pages;
        }
        return new PackedRuns(runFirst, runPages);
    }

    /** Index of the extent containing {@code page}, or -1; {@code starts} is sorted. */
    private static int find(long[] starts, long page) {
        int i = Arrays.binarySearch(starts, page);
        return i >= 0 ? i : -i - 2;
    }

    private static ByteBuffer readFully(Path path, FileChannel channel, long offset, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length).order(SnapshotFormat.ORDER);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, offset + buffer.position()) < 0) {
                throw new EOFException(path + ": unexpected end of file at offset " + (offset + buffer.position()));
            }
        }
        return buffer.flip();
    }

    // ---------------------------------------------------------------------------------------------
    // Random access

    public Path path() {
        return path;
    }

    public SnapshotHeader header() {
        return header;
    }

    public long fileSize() {
        return fileSize;
    }

    public List<FrameInfo> frames() {
        return frames;
    }

    /**
     * The page map, split so that each STORED extent lies in one frame (page {@code firstPage + i} is
     * slot {@code slot + i} of {@code frame}). A COPY's source lies in one stored run of the file but may
     * span several frames: resolve it page by page or run by run with {@link #extentOf}.
     */
    public List<Extent> extents() {
        return extents;
    }

    /** The pages to install first, in order; empty when the snapshot has no prefetch order. */
    public List<PageRun> prefetchOrder() {
        return prefetch;
    }

    /** The extent covering {@code page}, or null when the page is absent. */
    public Extent extentOf(long page) {
        if (page < 0 || page >= header.pageCount()) {
            throw new IndexOutOfBoundsException("page " + page + " is outside the memory's " + header.pageCount() + " pages");
        }
        int i = find(extentStarts, page);
        if (i < 0) {
            return null;
        }
        Extent e = extents.get(i);
        return page < e.endPage() ? e : null;
    }

    public PageKind kindOf(long page) {
        Extent e = extentOf(page);
        return e == null ? PageKind.ABSENT : e.kind();
    }

    /** The frame that holds {@code page}'s bytes (following a COPY to its source), or -1 for zero and absent pages. */
    public int frameOf(long page) {
        Extent e = extentOf(page);
        if (e == null || e.kind() == PageKind.ZERO) {
            return -1;
        }
        if (e.kind() == PageKind.COPY) {
            e = extentOf(e.source() + (page - e.firstPage()));
        }
        return e.frame();
    }

    /**
     * Reads frame {@code index}'s stored bytes into {@code target} (at least its stored length) and
     * checks their CRC32C; returns the slice holding them.
     */
    public MemorySegment readStored(int index, MemorySegment target) throws IOException {
        FrameInfo frame = frames.get(index);
        MemorySegment stored = target.asSlice(0, frame.storedLength());
        readAt(stored, frame.offset());
        checkFrame(index, stored);
        return stored;
    }

    /** Checks {@code stored} (exactly frame {@code index}'s stored bytes, e.g. read with O_DIRECT) against its CRC32C. */
    public void checkFrame(int index, MemorySegment stored) throws CorruptSnapshotException {
        FrameInfo frame = frames.get(index);
        CRC32C crc = new CRC32C();
        crc.update(stored.asByteBuffer());
        if ((int) crc.getValue() != frame.crc32c()) {
            throw new CorruptSnapshotException(path, "frame %d: checksum mismatch in data at offsets %d..%d (stored 0x%08x, computed 0x%08x)"
                    .formatted(index, frame.offset(), frame.offset() + frame.storedLength(), frame.crc32c(), (int) crc.getValue()));
        }
    }

    /** Decodes checked stored bytes of frame {@code index} into {@code raw} (exactly pageCount x pageSize bytes). */
    public void decodeFrame(int index, MemorySegment stored, MemorySegment raw) throws CorruptSnapshotException {
        FrameInfo frame = frames.get(index);
        try {
            if (frame.compressed()) {
                codec.get().decompress(stored, raw);
            } else {
                MemorySegment.copy(stored, 0, raw, 0, raw.byteSize());
            }
        } catch (CodecException e) {
            throw new CorruptSnapshotException(path, "frame %d at offset %d: %s".formatted(index, frame.offset(), e.getMessage()), e);
        }
    }

    /**
     * Reads, checks and decodes frame {@code index} into {@code raw} (exactly its raw size); a compressed
     * frame's stored bytes go through {@code storedScratch} (at least {@link #maxStoredBytes}).
     */
    public void readFrame(int index, MemorySegment raw, MemorySegment storedScratch) throws IOException {
        if (frames.get(index).compressed()) {
            decodeFrame(index, readStored(index, storedScratch), raw);
        } else {
            readStored(index, raw); // a raw frame is read straight into place
        }
    }

    /** As {@link #readFrame(int, MemorySegment, MemorySegment)} with a buffer for the stored bytes made for this call. */
    public void readFrame(int index, MemorySegment raw) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            readFrame(index, raw, arena.allocate(Math.max(1, frames.get(index).storedLength()), 4096));
        }
    }

    /** Raw size of frame {@code index} in bytes. */
    public long frameBytes(int index) {
        return (long) frames.get(index).pageCount() * header.pageSize();
    }

    /** Raw size of the largest frame (at most 256 MiB): what a buffer for any decoded frame needs. */
    public long maxFrameBytes() {
        return maxFrameBytes;
    }

    /** Stored size of the largest frame: what a buffer for any frame's stored bytes needs. */
    public long maxStoredBytes() {
        return maxStoredBytes;
    }

    /** A reader of single pages with buffers of its own, for one thread; closing it frees them. */
    public PageReader pageReader() {
        // Shared, not confined: a benchmark may set it up on one thread and use it on another.
        return new PageReader(this, Arena.ofShared());
    }

    /**
     * Copies page {@code page} into {@code dst} (one page) with buffers allocated for this call: for
     * occasional reads; {@link #pageReader} keeps its buffers for many.
     *
     * @throws IllegalArgumentException if the page is absent
     */
    public void readPage(long page, MemorySegment dst) throws IOException {
        try (PageReader pages = new PageReader(this, Arena.ofConfined())) {
            pages.readPage(page, dst);
        }
    }

    /** Every frame read, checked and decoded in turn, on this thread; returns the number of frames. */
    public long checkAllFrames() throws IOException {
        try (PageReader pages = new PageReader(this, Arena.ofConfined())) {
            for (int f = 0; f < frames.size(); f++) {
                pages.frame(f);
            }
        }
        return frames.size();
    }

    private void readAt(MemorySegment target, long offset) throws IOException {
        ByteBuffer buffer = target.asByteBuffer();
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, offset + buffer.position()) < 0) {
                throw new CorruptSnapshotException(path, "file ends at offset %d inside frame data (truncated?)"
                        .formatted(offset + buffer.position()));
            }
        }
    }

    private long rawFrameBytes() {
        long total = 0;
        for (FrameInfo f : frames) {
            total += (long) f.pageCount() * header.pageSize();
        }
        return total;
    }

    /** Counts of every page class and frame kind, computed from the metadata alone. */
    public SnapshotStats stats() {
        long zero = 0, stored = 0, copy = 0;
        for (Extent e : extents) {
            switch (e.kind()) {
                case ZERO -> zero += e.pageCount();
                case STORED -> stored += e.pageCount();
                case COPY -> copy += e.pageCount();
                default -> { }
            }
        }
        long compressed = 0, storedBytes = 0;
        for (FrameInfo f : frames) {
            compressed += f.compressed() ? 1 : 0;
            storedBytes += f.storedLength();
        }
        // Distinct pages: a valid list may name a page many times, and inspect reports a share of the memory.
        long prefetchPages = PageRun.inAddressOrder(prefetch).stream().mapToLong(PageRun::pageCount).sum();
        long memoryPages = header.pageCount();
        return new SnapshotStats(memoryPages, memoryPages - zero - stored - copy, zero, stored, copy, frames.size(),
                compressed, frames.size() - compressed, storedBytes, rawFrameBytes(), fileSize, prefetchPages, storedExtents);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** The prefetch order as two arrays, 12 bytes a run: a list of ten million runs stays about 120 MB, not 700. */
    private static final class PackedRuns extends java.util.AbstractList<PageRun> implements java.util.RandomAccess {
        private final long[] first;
        private final int[] pages;

        PackedRuns(long[] first, int[] pages) {
            this.first = first;
            this.pages = pages;
        }

        @Override
        public PageRun get(int index) {
            return new PageRun(first[index], pages[index]);
        }

        @Override
        public int size() {
            return first.length;
        }
    }
}
