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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * Opens a .sabre file and gives random access to its pages.
 *
 * <p>{@link #open} reads only the header, the footer and the metadata sections, checks their
 * checksums and every structural rule of FORMAT.md (so nothing later can index out of bounds or
 * allocate more than one frame), and keeps them in memory. Frame bytes are read on demand and their
 * CRC32C is checked before a single byte is decoded, so corrupt data never reaches a destination.
 * Thread-safe: positional reads, one codec and scratch buffer per thread.
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
    /** Per frame: indices into {@link #extents} of the STORED extents whose pages it holds. */
    private final int[][] frameExtents;
    private final ThreadLocal<Codec> codec;
    /** Per-thread buffers: decoded frames whose pages are not all wanted, and stored bytes read from the file. */
    private final ThreadLocal<MemorySegment> frameScratch;
    private final ThreadLocal<MemorySegment> storedScratch;

    private SnapshotReader(Path path, FileChannel channel, long fileSize, SnapshotHeader header, List<FrameInfo> frames,
                           List<Extent> extents, List<PageRun> prefetch, int[][] frameExtents, long storedExtents) {
        this.storedExtents = storedExtents;
        this.path = path;
        this.channel = channel;
        this.fileSize = fileSize;
        this.header = header;
        this.frames = frames;
        this.extents = extents;
        this.prefetch = prefetch;
        this.frameExtents = frameExtents;
        this.extentStarts = extents.stream().mapToLong(Extent::firstPage).toArray();
        CodecId id = header.codec();
        this.codec = Codecs.threadLocal(() -> Codecs.decoder(id));
        // Positional reads, not a mapping: a file truncated under a mapping kills the JVM with SIGBUS.
        long maxFrame = maxFrameBytes();
        long maxStored = frames.stream().mapToLong(FrameInfo::storedLength).max().orElse(1);
        this.frameScratch = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(Math.max(1, maxFrame), 4096));
        this.storedScratch = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(Math.max(1, maxStored), 4096));
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
        ByteBuffer footer = readFully(path, channel, footerAt, SnapshotFormat.FOOTER_SIZE);
        if (footer.getLong(56) != SnapshotFormat.END_MAGIC) {
            throw new CorruptSnapshotException(path, "footer end magic missing at offset %d (file truncated or extended?)"
                    .formatted(footerAt + 56));
        }
        int footerCrc = SnapshotHeader.crc(footer.array(), 0, 52);
        if (footer.getInt(52) != footerCrc) {
            throw new CorruptSnapshotException(path, "footer checksum mismatch at offset %d (stored 0x%08x, computed 0x%08x)"
                    .formatted(footerAt + 52, footer.getInt(52), footerCrc));
        }
        long frameTableAt = footer.getLong(0);
        long frameCount = footer.getLong(8);
        long pageMapAt = footer.getLong(16);
        long extentCount = footer.getLong(24);
        long prefetchAt = footer.getLong(32);
        long prefetchCount = footer.getLong(40);
        // Each section must start where the previous one ends; checked in an order that cannot overflow.
        if (frameTableAt < SnapshotFormat.HEADER_SIZE || frameTableAt > footerAt) {
            throw new CorruptSnapshotException(path, "footer field frame_table_offset is %d, outside the file's sections %d..%d"
                    .formatted(frameTableAt, SnapshotFormat.HEADER_SIZE, footerAt));
        }
        checkCount(path, "frame_count", frameCount, SnapshotFormat.FRAME_ENTRY_SIZE, footerAt - frameTableAt);
        checkSection(path, "page_map_offset", pageMapAt, frameTableAt + frameCount * SnapshotFormat.FRAME_ENTRY_SIZE, footerAt);
        checkCount(path, "extent_count", extentCount, SnapshotFormat.EXTENT_ENTRY_SIZE, footerAt - pageMapAt);
        long pageMapEnd = pageMapAt + extentCount * SnapshotFormat.EXTENT_ENTRY_SIZE;
        if (prefetchCount == 0 ? prefetchAt != 0 : prefetchAt != pageMapEnd) {
            throw new CorruptSnapshotException(path, "footer field prefetch_offset is %d, expected %d"
                    .formatted(prefetchAt, prefetchCount == 0 ? 0 : pageMapEnd));
        }
        checkCount(path, "prefetch_count", prefetchCount, SnapshotFormat.PREFETCH_ENTRY_SIZE, footerAt - pageMapEnd);
        long metadataEnd = pageMapEnd + prefetchCount * SnapshotFormat.PREFETCH_ENTRY_SIZE;
        if (metadataEnd != footerAt) {
            throw new CorruptSnapshotException(path, "sections end at offset %d but the footer starts at %d (file truncated or extended?)"
                    .formatted(metadataEnd, footerAt));
        }
        if (footerAt - frameTableAt > Integer.MAX_VALUE - 16) {
            throw new CorruptSnapshotException(path, "metadata of %d bytes is larger than this reader accepts (2 GiB)"
                    .formatted(footerAt - frameTableAt));
        }
        ByteBuffer meta = readFully(path, channel, frameTableAt, (int) (footerAt - frameTableAt));
        int metaCrc = SnapshotHeader.crc(meta.array(), 0, meta.capacity());
        if (footer.getInt(48) != metaCrc) {
            throw new CorruptSnapshotException(path, "metadata checksum mismatch (sections at offsets %d..%d: stored 0x%08x, computed 0x%08x)"
                    .formatted(frameTableAt, footerAt, footer.getInt(48), metaCrc));
        }
        List<FrameInfo> frames = parseFrames(path, header, meta, (int) frameCount, frameTableAt);
        List<Extent> extents = parseExtents(path, header, meta, (int) (pageMapAt - frameTableAt), (int) extentCount, pageMapAt, frames);
        int[][] frameExtents = frameOwners(frames, extents);
        List<PageRun> prefetch = parsePrefetch(path, header, meta, (int) (pageMapEnd - frameTableAt), (int) prefetchCount, pageMapEnd, extents);
        return new SnapshotReader(path, channel, size, header, frames, extents, prefetch, frameExtents, extentCount);
    }

    private static void checkSection(Path path, String field, long value, long expected, long footerAt)
            throws CorruptSnapshotException {
        if (value != expected || value > footerAt) {
            throw new CorruptSnapshotException(path, "footer field %s is %d, expected %d".formatted(field, value,
                    Math.min(expected, footerAt)));
        }
    }

    private static void checkCount(Path path, String field, long count, int entrySize, long room)
            throws CorruptSnapshotException {
        if (count < 0 || count > room / entrySize || count > Integer.MAX_VALUE) {
            throw new CorruptSnapshotException(path, "footer field %s is %d, more entries than the %d bytes before the footer can hold"
                    .formatted(field, count, room));
        }
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

    /** Per frame, the in-memory STORED extents that own its slots. */
    private static int[][] frameOwners(List<FrameInfo> frames, List<Extent> extents) {
        int[] counts = new int[frames.size()];
        for (Extent e : extents) {
            if (e.kind() == PageKind.STORED) {
                counts[e.frame()]++;
            }
        }
        int[][] owners = new int[frames.size()][];
        for (int f = 0; f < owners.length; f++) {
            owners[f] = new int[counts[f]];
            counts[f] = 0;
        }
        for (int i = 0; i < extents.size(); i++) {
            Extent e = extents.get(i);
            if (e.kind() == PageKind.STORED) {
                owners[e.frame()][counts[e.frame()]++] = i;
            }
        }
        return owners;
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
        List<PageRun> runs = new ArrayList<>(count);
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
            runs.add(new PageRun(first, pages));
        }
        return Collections.unmodifiableList(runs);
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

    /** Reads, checks and decodes frame {@code index} into {@code raw} (exactly its raw size). */
    public void readFrame(int index, MemorySegment raw) throws IOException {
        if (frames.get(index).compressed()) {
            decodeFrame(index, readStored(index, storedScratch.get()), raw);
        } else {
            readStored(index, raw); // a raw frame is read straight into place
        }
    }

    /** Raw size of frame {@code index} in bytes. */
    public long frameBytes(int index) {
        return (long) frames.get(index).pageCount() * header.pageSize();
    }

    /** Size of the largest frame, raw and stored, for sizing scratch buffers. */
    public long maxFrameBytes() {
        long max = 0;
        for (FrameInfo f : frames) {
            max = Math.max(max, (long) f.pageCount() * header.pageSize());
        }
        return max;
    }

    /**
     * Copies page {@code page} into {@code dst} (one page): zeros for zero pages, the page's bytes
     * otherwise, decoding only the frame that holds it.
     *
     * @throws IllegalArgumentException if the page is absent
     */
    public void readPage(long page, MemorySegment dst) throws IOException {
        Extent e = extentOf(page);
        if (e == null) {
            throw new IllegalArgumentException("page " + page + " is absent from " + path);
        }
        if (e.kind() == PageKind.ZERO) {
            dst.asSlice(0, header.pageSize()).fill((byte) 0);
            return;
        }
        if (e.kind() == PageKind.COPY) {
            page = e.source() + (page - e.firstPage());
            e = extentOf(page);
        }
        int pageSize = header.pageSize();
        long slot = e.slot() + (page - e.firstPage());
        MemorySegment raw = frameScratch.get().asSlice(0, frameBytes(e.frame()));
        readFrame(e.frame(), raw);
        MemorySegment.copy(raw, slot * pageSize, dst, 0, pageSize);
    }

    // ---------------------------------------------------------------------------------------------
    // Whole-snapshot work

    /**
     * Sends every present page to {@code sink}: frames decoded in parallel on {@code threads} cores (each
     * frame's STORED and COPY pages as soon as it is decoded), then the zero extents. With more than one
     * thread there are twice as many workers as decoding permits, and a worker reading its batch holds no
     * permit, so reads from storage overlap decoding. (When the file is in the page cache those reads are
     * short copies, of at most 1 MiB a batch, that can briefly add to the {@code threads} cores decoding.)
     *
     * @param progress told the raw frame bytes decoded so far (phase "decode"); may be null
     */
    public void restore(PageSink sink, int threads, Progress progress) throws IOException {
        List<List<Extent>> copiesByFrame = copiesByFrame();
        AtomicLong done = new AtomicLong();
        AtomicBoolean failed = new AtomicBoolean();
        long total = rawFrameBytes();
        int cores = Math.max(1, threads);
        int workers = cores == 1 ? 1 : 2 * cores;
        Semaphore decoding = new Semaphore(cores);
        List<int[]> batches = batches(cores);
        long batchBuffer = batches.stream().mapToLong(b -> storedBytes(b[0], b[1])).max().orElse(1);
        ThreadLocal<MemorySegment> readBuffer = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(Math.max(1, batchBuffer), 4096));
        // One worker runs on the calling thread: no pool to start for a small or single-threaded restore.
        ExecutorService pool = workers == 1 ? null
                : Executors.newFixedThreadPool(workers, Thread.ofPlatform().daemon().name("sabre-restore-", 0).factory());
        try {
            List<Future<?>> futures = new ArrayList<>(batches.size());
            for (int[] batch : batches) {
                futures.add(submit(pool, () -> {
                    if (failed.get()) {
                        return null; // another batch failed: the restore is over
                    }
                    try {
                        restoreBatch(batch, readBuffer.get(), sink, copiesByFrame, done, total, progress, decoding);
                    } catch (Throwable t) {
                        failed.set(true); // stop the batches not started yet, at once
                        throw t;
                    }
                    return null;
                }));
            }
            try {
                for (Future<?> future : futures) {
                    await(future);
                }
            } catch (IOException | RuntimeException | Error e) {
                failed.set(true);
                throw e;
            }
            for (Extent e : extents) {
                if (e.kind() == PageKind.ZERO) {
                    sink.zero(e.firstPage(), e.pageCount());
                }
            }
        } finally {
            if (pool != null) {
                shutdownAndWait(pool);
            }
        }
    }

    /** Runs {@code task} on {@code pool}, or right here when there is no pool. */
    private static Future<?> submit(ExecutorService pool, java.util.concurrent.Callable<Object> task) {
        if (pool != null) {
            return pool.submit(task);
        }
        java.util.concurrent.FutureTask<Object> future = new java.util.concurrent.FutureTask<>(task);
        future.run();
        return future;
    }

    /** One read for a run of consecutive frames, then each is checked and decoded from memory. */
    private void restoreBatch(int[] batch, MemorySegment buffer, PageSink sink, List<List<Extent>> copiesByFrame,
                              AtomicLong done, long total, Progress progress, Semaphore decoding) throws IOException {
        MemorySegment stored = buffer.asSlice(0, storedBytes(batch[0], batch[1]));
        readAt(stored, frames.get(batch[0]).offset());
        long base = frames.get(batch[0]).offset();
        long decoded = 0;
        decoding.acquireUninterruptibly();
        try {
            for (int index = batch[0]; index < batch[1]; index++) {
                FrameInfo frame = frames.get(index);
                MemorySegment bytes = stored.asSlice(frame.offset() - base, frame.storedLength());
                checkFrame(index, bytes);
                emitFrame(index, bytes, sink, copiesByFrame.get(index));
                decoded += frameBytes(index);
            }
        } finally {
            decoding.release();
        }
        // Counted once a batch, not once a frame: a counter shared by every core is a contended cache line.
        long now = done.addAndGet(decoded);
        if (progress != null) {
            progress.update("decode", now, total);
        }
    }

    /** Decodes one checked frame and hands its pages (and pages that copy them) to the sink. */
    private void emitFrame(int index, MemorySegment stored, PageSink sink, List<Extent> copies) throws IOException {
        int pageSize = header.pageSize();
        int[] owners = frameExtents[index];
        Extent only = owners.length == 1 ? extents.get(owners[0]) : null;
        MemorySegment direct = only != null ? sink.direct(only.firstPage(), only.pageCount()) : null;
        MemorySegment raw = direct != null ? direct : frameScratch.get().asSlice(0, frameBytes(index));
        decodeFrame(index, stored, raw);
        if (direct == null) {
            for (int i : owners) {
                Extent e = extents.get(i);
                sink.write(e.firstPage(), raw.asSlice((long) e.slot() * pageSize, (long) e.pageCount() * pageSize));
            }
        }
        for (Extent copy : copies) {
            Extent src = extentOf(copy.source());
            long slot = src.slot() + (copy.source() - src.firstPage());
            sink.write(copy.firstPage(), raw.asSlice(slot * pageSize, (long) copy.pageCount() * pageSize));
        }
    }

    /** Runs of consecutive frames {from, to} of about 1 MiB stored, at least 8 per thread so threads stay busy. */
    private List<int[]> batches(int threads) {
        long totalStored = storedBytes(0, frames.size());
        long target = Math.max(1, Math.min(1L << 20, totalStored / (threads * 8L)));
        List<int[]> batches = new ArrayList<>();
        int from = 0;
        long size = 0;
        for (int i = 0; i < frames.size(); i++) {
            size += frames.get(i).storedLength();
            if (size >= target || i == frames.size() - 1) {
                batches.add(new int[] {from, i + 1});
                from = i + 1;
                size = 0;
            }
        }
        return batches;
    }

    /** Stored bytes of frames {@code from} (inclusive) to {@code to} (exclusive), which lie back to back. */
    private long storedBytes(int from, int to) {
        if (from >= to) {
            return 0;
        }
        FrameInfo last = frames.get(to - 1);
        return last.offset() + last.storedLength() - frames.get(from).offset();
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

    /**
     * Stops a pool and waits for its tasks, so no task touches a buffer or file after an early error.
     * Tasks are not interrupted: an interrupt during a FileChannel read closes the channel for good.
     */
    static void shutdownAndWait(ExecutorService pool) {
        pool.shutdown();
        boolean interrupted = false;
        while (true) {
            try {
                if (pool.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES)) {
                    break;
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Checks every frame's checksum and decodes it (in parallel), proving the whole file readable.
     *
     * @return the number of frames checked
     */
    public long verify(int threads, Progress progress) throws IOException {
        restore(new PageSink() {
            @Override
            public void write(long firstPage, MemorySegment data) {
            }

            @Override
            public void zero(long firstPage, long count) {
            }
        }, threads, progress);
        return frames.size();
    }

    private List<List<Extent>> copiesByFrame() {
        List<List<Extent>> result = new ArrayList<>(frames.size());
        for (int f = 0; f < frames.size(); f++) {
            result.add(new ArrayList<>(0));
        }
        for (Extent e : extents) {
            if (e.kind() != PageKind.COPY) {
                continue;
            }
            // One piece per frame the source runs through; the pieces are as many as the pages at most.
            for (long done = 0; done < e.pageCount(); ) {
                Extent src = extentOf(e.source() + done);
                int n = (int) Math.min(e.pageCount() - done, src.endPage() - (e.source() + done));
                result.get(src.frame()).add(Extent.copy(e.firstPage() + done, n, e.source() + done));
                done += n;
            }
        }
        return result;
    }

    private long rawFrameBytes() {
        long total = 0;
        for (FrameInfo f : frames) {
            total += (long) f.pageCount() * header.pageSize();
        }
        return total;
    }

    static <T> T await(Future<T> future) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IOException(cause);
        }
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
        long prefetchPages = prefetch.stream().mapToLong(PageRun::pageCount).sum();
        long memoryPages = header.pageCount();
        return new SnapshotStats(memoryPages, memoryPages - zero - stored - copy, zero, stored, copy, frames.size(),
                compressed, frames.size() - compressed, storedBytes, rawFrameBytes(), fileSize, prefetchPages, storedExtents);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
