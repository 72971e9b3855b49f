package dev.sabre.store;

import dev.sabre.codec.Codec;
import dev.sabre.codec.CodecException;
import dev.sabre.codec.CodecId;
import dev.sabre.codec.Codecs;
import dev.sabre.format.PageRun;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One snapshot in a store (STORE.md, "Manifest"): the memory's shape, the packs it uses, the frames
 * of those packs that hold its pages, its page map onto those frames' slots, and its working set, which
 * lies in consecutive frames of one pack so a restore fetches it with a few large ranged requests.
 * Everything a restore needs is here; pack indexes are for pushes only. A manifest of version 2 may also
 * name frames of the snapshot's disk ({@link #DISK}): pages the guest had read from its root file system,
 * kept there rather than in the store, because every host that restores the VM holds that image anyway.
 */
public final class Manifest {
    /** The bytes {@code SABREMAN}. */
    static final long MAGIC = Wire.magic("SABREMAN");
    /** Version 1, or 2 when some frame is on the snapshot's disk (a version-1 reader refuses those). */
    static final int VERSION = 1;
    static final int VERSION_WITH_DISK = 2;
    /** The pack number of a frame that lies in the snapshot's disk image, not in a pack of the store. */
    public static final int DISK = -1;
    static final int HEADER_BYTES = 64;
    /**
     * The bytes {@code SABREMZS}: a manifest object that holds the encoding compressed with zstd (STORE.md,
     * "Manifest"); a disk frame's pages make many one-page extents, which compress about 3x.
     */
    static final long COMPRESSED_MAGIC = Wire.magic("SABREMZS");
    /** Larger decoded manifests are refused before anything is allocated: a 2^48-byte memory of one-page extents is far below it. */
    static final int MAX_DECODED_BYTES = 1 << 30;

    public record PackRef(String pack, String index) {
    }

    /**
     * A frame of pack {@code pack} (an index into {@link #packs()}), or of the snapshot's disk ({@link #DISK}):
     * then {@code stored} gives its raw pages' byte offset in the disk image and their SHA-256.
     */
    public record Frame(int pack, StoredFrame stored) {
        public boolean onDisk() {
            return pack == DISK;
        }
    }

    /** Pages {@code firstPage ..} are zero, or are global slots {@code slot ..} (slots number the frames' pages in frame order). */
    public record MapExtent(long firstPage, int pageCount, boolean zero, long slot) {
        public long endPage() {
            return firstPage + pageCount;
        }
    }

    private final int pageSize;
    private final long memorySize;
    private final CodecId codec;
    private final int level;
    private final long createdMillis;
    private final List<PackRef> packs;
    private final List<Frame> frames;
    private final List<MapExtent> extents;
    private final List<PageRun> workingSet;
    private final int wsFirstFrame;
    private final int wsFrameCount;
    private final long[] extentStarts;
    private final long[] presentBefore;
    private final long[] frameFirstSlot;

    public Manifest(int pageSize, long memorySize, CodecId codec, int level, long createdMillis, List<PackRef> packs,
                    List<Frame> frames, List<MapExtent> extents, List<PageRun> workingSet, int wsFirstFrame, int wsFrameCount) {
        this.pageSize = pageSize;
        this.memorySize = memorySize;
        this.codec = codec;
        this.level = level;
        this.createdMillis = createdMillis;
        this.packs = List.copyOf(packs);
        this.frames = List.copyOf(frames);
        this.extents = List.copyOf(extents);
        this.workingSet = List.copyOf(workingSet);
        this.wsFirstFrame = wsFirstFrame;
        this.wsFrameCount = wsFrameCount;
        this.extentStarts = extents.stream().mapToLong(MapExtent::firstPage).toArray();
        this.presentBefore = new long[extents.size() + 1];
        for (int i = 0; i < extents.size(); i++) {
            presentBefore[i + 1] = presentBefore[i] + extents.get(i).pageCount();
        }
        this.frameFirstSlot = new long[frames.size() + 1];
        for (int i = 0; i < frames.size(); i++) {
            frameFirstSlot[i + 1] = frameFirstSlot[i] + frames.get(i).stored().pageCount();
        }
    }

    public int pageSize() {
        return pageSize;
    }

    public long memorySize() {
        return memorySize;
    }

    public long pageCount() {
        return memorySize / pageSize;
    }

    public CodecId codec() {
        return codec;
    }

    public int level() {
        return level;
    }

    public long createdMillis() {
        return createdMillis;
    }

    public List<PackRef> packs() {
        return packs;
    }

    public List<Frame> frames() {
        return frames;
    }

    public List<MapExtent> extents() {
        return extents;
    }

    /** The working set's pages in the order they are installed (empty when none was pushed). */
    public List<PageRun> workingSet() {
        return workingSet;
    }

    /** The working set's frames: {@code wsFirstFrame() .. wsFirstFrame() + wsFrameCount() - 1}, back to back in one pack. */
    public int wsFirstFrame() {
        return wsFirstFrame;
    }

    public int wsFrameCount() {
        return wsFrameCount;
    }

    public long totalSlots() {
        return frameFirstSlot[frames.size()];
    }

    /** The first global slot of frame {@code frame}. */
    public long firstSlot(int frame) {
        return frameFirstSlot[frame];
    }

    /** The frame holding global slot {@code slot}. */
    public int frameOfSlot(long slot) {
        int i = Arrays.binarySearch(frameFirstSlot, slot);
        return i >= 0 ? i : -i - 2;
    }

    /** The extent covering {@code page}, or null when the page is absent from this snapshot. */
    public MapExtent extentOf(long page) {
        int i = Arrays.binarySearch(extentStarts, page);
        i = i >= 0 ? i : -i - 2;
        if (i < 0) {
            return null;
        }
        MapExtent e = extents.get(i);
        return page < e.endPage() ? e : null;
    }

    /** Present pages in {@code first .. end - 1}, by two lookups. */
    long presentPages(long first, long end) {
        return presentBefore(end) - presentBefore(first);
    }

    private long presentBefore(long page) {
        int i = Arrays.binarySearch(extentStarts, page);
        i = i >= 0 ? i - 1 : -i - 2;
        if (i < 0) {
            return 0;
        }
        MapExtent e = extents.get(i);
        return presentBefore[i] + Math.min(e.pageCount(), page - e.firstPage());
    }

    public long presentPages() {
        return presentBefore[extents.size()];
    }

    public long zeroPages() {
        return extents.stream().filter(MapExtent::zero).mapToLong(MapExtent::pageCount).sum();
    }

    /** Frame {@code frame}'s bytes once decoded: its pages. */
    public long rawBytes(int frame) {
        return (long) frames.get(frame).stored().pageCount() * pageSize;
    }

    /** Stored bytes of the frames this snapshot uses in the store (not on its disk): what it would take in a store of its own. */
    public long frameBytes() {
        return frames.stream().filter(f -> !f.onDisk()).mapToLong(f -> f.stored().storedLength()).sum();
    }

    /** Whether some of this snapshot's pages are read from its disk image, which a restore or pull must then be given. */
    public boolean needsDisk() {
        return frames.stream().anyMatch(Frame::onDisk);
    }

    /** Bytes of the disk image this snapshot's disk frames read: the image must be at least this long. */
    public long diskBytesNeeded() {
        return frames.stream().filter(Frame::onDisk).mapToLong(f -> f.stored().end()).max().orElse(0);
    }

    /** Pages read from the disk image rather than the store. */
    public long diskPages() {
        return frames.stream().filter(Frame::onDisk).mapToLong(f -> f.stored().pageCount()).sum();
    }

    /** Pages {@code firstPage ..} are slots {@code slot ..} of frame {@code frame} (slots within that frame). */
    public record FrameRun(long firstPage, int pageCount, int frame, int slot) {
    }

    /**
     * The stored pages grouped by the frame that holds them: what a reader that decodes each frame once
     * writes where. Frames no page uses are left out.
     */
    public java.util.SortedMap<Integer, List<FrameRun>> pagesByFrame() {
        java.util.SortedMap<Integer, List<FrameRun>> byFrame = new java.util.TreeMap<>();
        for (MapExtent e : extents) {
            if (e.zero()) {
                continue;
            }
            long page = e.firstPage();
            long slot = e.slot();
            long left = e.pageCount();
            while (left > 0) {
                int frame = frameOfSlot(slot);
                int inFrame = (int) (slot - frameFirstSlot[frame]);
                int n = (int) Math.min(left, frames.get(frame).stored().pageCount() - inFrame);
                byFrame.computeIfAbsent(frame, f -> new ArrayList<>()).add(new FrameRun(page, n, frame, inFrame));
                page += n;
                slot += n;
                left -= n;
            }
        }
        return byFrame;
    }

    byte[] encode() {
        Wire.Writer w = new Wire.Writer().u64(MAGIC).u32(needsDisk() ? VERSION_WITH_DISK : VERSION).u32(pageSize).u64(memorySize).u32(codec.wireId()).u32(level)
                .u64(createdMillis).u32(packs.size()).u32(frames.size()).u32(extents.size()).u32(workingSet.size())
                .u32(wsFirstFrame).u32(wsFrameCount);
        for (PackRef p : packs) {
            w.bytes(Hashes.parse(p.pack())).bytes(Hashes.parse(p.index()));
        }
        for (Frame f : frames) {
            w.u32(f.pack());
            f.stored().write(w);
        }
        for (MapExtent e : extents) {
            w.u64(e.firstPage()).u32(e.pageCount()).u16(e.zero() ? 1 : 2).u16(0).u64(e.slot());
        }
        for (PageRun r : workingSet) {
            w.u64(r.firstPage()).u32(r.pageCount());
        }
        return w.toByteArray();
    }

    /** The object a push writes: magic, the encoding's length, then the encoding compressed with zstd 19. */
    byte[] toObject() {
        byte[] raw = encode();
        Codec zstd = Codecs.create(CodecId.ZSTD, 19);
        byte[] out = new byte[zstd.maxCompressedLength(raw.length)];
        int length = zstd.compress(raw, out);
        return new Wire.Writer().u64(COMPRESSED_MAGIC).u32(raw.length).bytes(Arrays.copyOf(out, length)).toByteArray();
    }

    /**
     * Decodes a manifest object whose bytes already matched their name's hash: compressed ({@link #toObject}), or a
     * plain encoding as the first stores wrote them.
     */
    static Manifest fromObject(String object, byte[] data) throws CorruptObjectException {
        Wire.Reader r = new Wire.Reader(object, data);
        if (data.length < 12 || r.u64() != COMPRESSED_MAGIC) {
            return decode(object, data);
        }
        long rawLength = Integer.toUnsignedLong(r.u32());
        if (rawLength < HEADER_BYTES || rawLength > MAX_DECODED_BYTES) {
            throw r.corrupt("compressed manifest of " + rawLength + " bytes decoded: outside " + HEADER_BYTES + ".." + MAX_DECODED_BYTES);
        }
        byte[] raw = new byte[(int) rawLength];
        try {
            Codecs.decoder(CodecId.ZSTD).decompress(MemorySegment.ofArray(data).asSlice(12), MemorySegment.ofArray(raw));
        } catch (CodecException e) {
            throw r.corrupt("compressed manifest does not decode to its " + rawLength + " bytes: " + e.getMessage());
        }
        return decode(object, raw);
    }

    /** Decodes a manifest's encoding, checking every rule of STORE.md. */
    static Manifest decode(String object, byte[] data) throws CorruptObjectException {
        Wire.Reader r = new Wire.Reader(object, data);
        if (r.u64() != MAGIC) {
            throw r.corrupt("not a snapshot manifest (wrong magic)");
        }
        int version = r.u32();
        if (version != VERSION && version != VERSION_WITH_DISK) {
            throw r.corrupt("manifest version " + version + " is not supported (this reader knows " + VERSION + " and "
                    + VERSION_WITH_DISK + ")");
        }
        int pageSize = checkPageSize(r, r.u32());
        long memorySize = r.u64();
        if (memorySize <= 0 || memorySize % pageSize != 0 || memorySize > (1L << 48)) {
            throw r.corrupt("memory_size " + memorySize + " is not a positive multiple of the page size up to 2^48");
        }
        int codecWire = r.u32();
        int level = r.u32();
        CodecId codec = checkCodec(r, codecWire, level);
        long created = r.u64();
        long packCount = Integer.toUnsignedLong(r.u32());
        long frameCount = Integer.toUnsignedLong(r.u32());
        long extentCount = Integer.toUnsignedLong(r.u32());
        long wsCount = Integer.toUnsignedLong(r.u32());
        long wsFirst = Integer.toUnsignedLong(r.u32());
        long wsFrames = Integer.toUnsignedLong(r.u32());
        List<PackRef> packs = new ArrayList<>(r.count(packCount, 2 * Hashes.LENGTH, "pack count"));
        for (long i = 0; i < packCount; i++) {
            packs.add(new PackRef(Hashes.hex(r.bytes(Hashes.LENGTH)), Hashes.hex(r.bytes(Hashes.LENGTH))));
        }
        List<Frame> frames = new ArrayList<>(r.count(frameCount, 4 + StoredFrame.BYTES, "frame count"));
        for (long i = 0; i < frameCount; i++) {
            int pack = r.u32();
            boolean onDisk = pack == DISK && version == VERSION_WITH_DISK;
            if (!onDisk && Integer.toUnsignedLong(pack) >= packCount) {
                throw r.corrupt("frame " + i + ": pack " + Integer.toUnsignedString(pack) + " is not below the pack count " + packCount);
            }
            StoredFrame stored = StoredFrame.read(r, "frame " + i, pageSize, PackIndex.MAX_FRAME_PAGES);
            if (onDisk && (stored.compressed() || stored.offset() % pageSize != 0)) {
                throw r.corrupt("frame " + i + ": a disk frame must be raw pages at a page-aligned offset");
            }
            frames.add(new Frame(pack, stored));
        }
        long slots = frames.stream().mapToLong(f -> f.stored().pageCount()).sum();
        List<MapExtent> extents = new ArrayList<>(r.count(extentCount, 24, "extent count"));
        long pageCount = memorySize / pageSize;
        long end = 0;
        for (long i = 0; i < extentCount; i++) {
            long first = r.u64();
            long count = Integer.toUnsignedLong(r.u32());
            int kind = r.u16();
            int reserved = r.u16();
            long slot = r.u64();
            if (count < 1 || count > Integer.MAX_VALUE || first < end || first > pageCount - count) {
                throw r.corrupt("extent " + i + ": pages " + first + "+" + count + " overlap the previous extent or leave the memory's " + pageCount + " pages");
            }
            if (reserved != 0 || (kind == 1 ? slot != 0 : kind != 2 || slot < 0 || slot > slots - count)) {
                throw r.corrupt("extent " + i + ": kind " + kind + " with slot " + slot + " is invalid (" + slots + " slots)");
            }
            extents.add(new MapExtent(first, (int) count, kind == 1, slot));
            end = first + count;
        }
        List<PageRun> ws = new ArrayList<>(r.count(wsCount, 12, "working-set run count"));
        for (long i = 0; i < wsCount; i++) {
            long first = r.u64();
            long count = Integer.toUnsignedLong(r.u32());
            if (count < 1 || count > Integer.MAX_VALUE || first < 0 || first > pageCount - count) {
                throw r.corrupt("working-set run " + i + ": pages " + first + "+" + count + " leave the memory's " + pageCount + " pages");
            }
            ws.add(new PageRun(first, (int) count));
        }
        r.end();
        if (wsFirst + wsFrames > frameCount || (wsFrames > 0 && ws.isEmpty())) {
            throw r.corrupt("working-set frames " + wsFirst + "+" + wsFrames + " do not fit the " + frameCount + " frames and " + ws.size() + " runs");
        }
        for (long i = wsFirst; i < wsFirst + wsFrames; i++) {
            if (frames.get((int) i).onDisk()) {
                throw r.corrupt("working-set frame " + i + " is on the disk: a working set is stored in a pack");
            }
        }
        for (long i = wsFirst + 1; i < wsFirst + wsFrames; i++) {
            Frame prev = frames.get((int) i - 1);
            Frame f = frames.get((int) i);
            if (f.pack() != prev.pack() || f.stored().offset() != prev.stored().end()) {
                throw r.corrupt("working-set frame " + i + " does not follow frame " + (i - 1) + " in its pack");
            }
        }
        Manifest m = new Manifest(pageSize, memorySize, codec, level, created, packs, frames, extents, ws, (int) wsFirst, (int) wsFrames);
        for (int i = 0; i < ws.size(); i++) {
            PageRun run = ws.get(i);
            if (m.presentPages(run.firstPage(), run.endPage()) != run.pageCount()) {
                throw r.corrupt("working-set run " + i + ": pages " + run.firstPage() + "+" + run.pageCount() + " are not all in the snapshot");
            }
        }
        return m;
    }

    static int checkPageSize(Wire.Reader r, int pageSize) throws CorruptObjectException {
        if (pageSize < 4096 || pageSize > (1 << 30) || Integer.bitCount(pageSize) != 1) {
            throw r.corrupt("page_size " + Integer.toUnsignedString(pageSize) + " is not a power of two in 4096..2^30");
        }
        return pageSize;
    }

    static CodecId checkCodec(Wire.Reader r, int wireId, int level) throws CorruptObjectException {
        CodecId codec = CodecId.fromWireId(wireId);
        if (codec == null) {
            throw r.corrupt("codec " + Integer.toUnsignedString(wireId) + " is unknown");
        }
        if (codec != CodecId.NONE && (level < codec.minLevel() || level > codec.maxLevel())) {
            throw r.corrupt("codec level " + level + " is outside " + codec.minLevel() + ".." + codec.maxLevel() + " of " + codec.label());
        }
        return codec;
    }
}
