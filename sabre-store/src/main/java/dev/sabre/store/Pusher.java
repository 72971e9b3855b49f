package dev.sabre.store;

import dev.sabre.codec.Codec;
import dev.sabre.codec.CodecId;
import dev.sabre.codec.Codecs;
import dev.sabre.format.PageRun;
import dev.sabre.format.Progress;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Pushes one snapshot into a store (STORE.md, "Push"). Every non-zero page is hashed; a page whose
 * content the store already holds is referenced where it is, the rest are framed in address order,
 * compressed and written in packs. The working set gets a pack of its own, in address order, so a
 * restore fetches it with a few large ranged requests. Packs and indexes are written first, the manifest
 * after them and the name last, all under a push lock that keeps gc away: a failed push leaves at most
 * unreferenced objects, never a name pointing at something missing. Given the VM's disk image, a push leaves
 * the pages the store does not hold yet and that are blocks of that image there (disk frames), outside the
 * working set, which is always stored.
 */
public final class Pusher {
    /**
     * The unit, chosen by measurement on real memory (STORE.md, "Why 256 KiB frames at zstd 9"), and
     * {@code indexCache}: the host cache that keeps pack indexes (immutable, named by their hash), so a push
     * downloads only the indexes it has not seen on this host; null to fetch every index. The working set is
     * compressed harder ({@code workingSetLevel}, STORE.md, "Why the working set at zstd 19"): every restore
     * fetches it, so CPU spent once at push saves bytes on every restore.
     */
    public record Options(CodecId codec, int level, int workingSetLevel, int framePages, long packBytes, int threads,
                          Duration lockWait, HostCache indexCache) {
        public static Options defaults() {
            return new Options(CodecId.ZSTD, 9, 19, 64, 32L << 20, Runtime.getRuntime().availableProcessors(),
                    Duration.ofMinutes(10), null);
        }

        /** Every frame, the working set's included, with {@code codec} at {@code level}. */
        public Options withCodec(CodecId codec, int level) {
            int checked = codec.checkLevel(level);
            return new Options(codec, checked, checked, framePages, packBytes, threads, lockWait, indexCache);
        }

        /** The working set's frames at {@code level} of the codec (the other frames keep theirs). */
        public Options withWorkingSetLevel(int wsLevel) {
            return new Options(codec, level, codec.checkLevel(wsLevel), framePages, packBytes, threads, lockWait, indexCache);
        }

        /**
         * Frames stored uncompressed (codec none), as REAP keeps its working set and memory: pages are still
         * deduplicated, against the store's other raw frames only (a manifest has one codec).
         */
        public Options raw() {
            return withCodec(CodecId.NONE, 0);
        }

        public Options withFramePages(int pages) {
            if (pages < 1 || pages > PackIndex.MAX_FRAME_PAGES) {
                throw new IllegalArgumentException("frame of " + pages + " pages is outside 1.." + PackIndex.MAX_FRAME_PAGES);
            }
            return new Options(codec, level, workingSetLevel, pages, packBytes, threads, lockWait, indexCache);
        }

        public Options withThreads(int threads) {
            return new Options(codec, level, workingSetLevel, framePages, packBytes, Math.max(1, threads), lockWait, indexCache);
        }

        public Options withPackBytes(long bytes) {
            return new Options(codec, level, workingSetLevel, framePages, bytes, threads, lockWait, indexCache);
        }

        public Options withIndexCache(HostCache cache) {
            return new Options(codec, level, workingSetLevel, framePages, packBytes, threads, lockWait, cache);
        }
    }

    /** What a push did; {@code indexBytesFetched} counts the pack indexes it downloaded (not found in the host cache). */
    public record Result(String manifest, long presentPages, long zeroPages, long workingSetPages, long newPages,
                         long pagesFoundInStore, long duplicatePages, long bytesWritten, int objectsWritten, long hashNanos,
                         long nanos, long indexBytesFetched, long pagesOnDisk) {
    }

    private static final long ABSENT = -2;
    private static final long ZERO = -1;
    private static final int WS = 0;
    private static final int NEW = 1;
    private static final int OLD = 2;
    private static final int DISK = 3;

    private final SnapshotStore store;
    private final PageInput input;
    private final Options options;
    private final Progress progress;
    private final int pageSize;
    /** Per page: ABSENT, ZERO, or a group (WS, NEW, OLD) in bits 60.. and an index in that group below. */
    private final long[] location;
    /** Distinct contents of the working set, and of the other pages the store does not hold yet. */
    private final PageGroup ws = new PageGroup();
    private PageGroup fresh = new PageGroup();
    /** Pages the store already holds: hash to (index number, frame, slot in frame). */
    private final Map<ByteBuffer, int[]> known = new HashMap<>();
    private final List<String> knownIndexHashes = new ArrayList<>();
    private final List<PackIndex> knownIndexes = new ArrayList<>();
    private final List<int[]> oldSlots = new ArrayList<>();
    private final List<Manifest.PackRef> packs = new ArrayList<>();
    private final List<Manifest.Frame> frames = new ArrayList<>();
    /** Byte offsets in the disk image of the contents left there, by disk content number. */
    private final List<Long> diskOffsets = new ArrayList<>();
    private long duplicates;
    private long indexBytesFetched;
    private long bytesWritten;
    private int objectsWritten;

    private Pusher(SnapshotStore store, PageInput input, Options options, Progress progress) {
        this.store = store;
        this.input = input;
        this.options = options;
        this.progress = progress;
        this.pageSize = input.pageSize();
        this.location = new long[Math.toIntExact(input.memorySize() / pageSize)];
    }

    /** Pushes {@code input} as {@code name}; {@code workingSet} (may be empty) is stored for one-pass prefetch. */
    public static Result push(SnapshotStore store, PageInput input, List<PageRun> workingSet, String name, Options options,
                              Progress progress) throws IOException {
        return push(store, input, workingSet, null, name, options, progress);
    }

    /**
     * {@link #push}, leaving in {@code disk} (the VM's root file system image; null for none) every page outside the
     * working set that the store does not hold and that the image holds as a block.
     */
    public static Result push(SnapshotStore store, PageInput input, List<PageRun> workingSet, SnapshotDisk disk, String name,
                              Options options, Progress progress) throws IOException {
        StoreLayout.checkName(name);
        long start = System.nanoTime();
        try (StoreLocks.Lock lock = StoreLocks.push(store.objects(), options.lockWait())) {
            Pusher p = new Pusher(store, input, options, progress);
            p.loadKnownPages();
            List<PageRun> ws = PageRun.inAddressOrder(workingSet);
            long hashStart = System.nanoTime();
            p.classify(ws);
            if (disk != null) {
                p.leaveOnDisk(disk);
            }
            long hashNanos = System.nanoTime() - hashStart;
            int wsFrames = p.writePacks(p.ws.pages, p.ws.hashes, true, options.workingSetLevel());
            p.writePacks(p.fresh.pages, p.fresh.hashes, false, options.level());
            int[] oldFrame = p.addOldFrames();
            long[] diskSlot = p.addDiskFrames(disk);
            Manifest manifest = new Manifest(p.pageSize, input.memorySize(), options.codec(), options.level(),
                    System.currentTimeMillis(), p.packs, p.frames, p.extents(wsFrames, oldFrame, diskSlot), ws, 0, wsFrames);
            lock.checkHeld();
            SnapshotStore.Stored m = p.put(StoreLayout.MANIFESTS, manifest.toObject());
            lock.checkHeld();
            store.writeName(name, m.hash());
            long present = manifest.presentPages();
            long zero = manifest.zeroPages();
            return new Result(m.hash(), present, zero, p.ws.pages.size(), p.fresh.pages.size(), p.oldSlots.size(), p.duplicates,
                    p.bytesWritten, p.objectsWritten, hashNanos, System.nanoTime() - start, p.indexBytesFetched, p.diskOffsets.size());
        }
    }

    private void loadKnownPages() throws IOException {
        for (ObjectStore.Info info : store.objects().list(StoreLayout.INDEXES)) {
            String hash = StoreLayout.hashOf(info.key(), StoreLayout.INDEXES);
            if (hash == null) {
                continue;
            }
            PackIndex index = index(hash);
            if (index.pageSize() != pageSize || index.codec() != options.codec()) {
                continue; // frames of another codec cannot join this manifest
            }
            int number = knownIndexes.size();
            knownIndexes.add(index);
            knownIndexHashes.add(hash);
            byte[] hashes = index.pageHashes();
            int slot = 0;
            for (int f = 0; f < index.frames().size(); f++) {
                for (int s = 0; s < index.frames().get(f).pageCount(); s++, slot++) {
                    known.putIfAbsent(ByteBuffer.wrap(hashes, slot * Hashes.LENGTH, Hashes.LENGTH).slice(), new int[] {number, f, s});
                }
            }
        }
    }

    /** Pack index {@code hash}: from the host cache when there is one (checked against its hash), else downloaded. */
    private PackIndex index(String hash) throws IOException {
        String key = StoreLayout.index(hash);
        HostCache cache = options.indexCache();
        byte[] data = cache == null ? fetchIndex(key, hash) : cache.get(Hashes.parse(hash), () -> fetchIndex(key, hash));
        return PackIndex.decode(store.objects().describe(key), data);
    }

    private byte[] fetchIndex(String key, String hash) throws IOException {
        byte[] data = store.verified(key, hash);
        indexBytesFetched += data.length;
        return data;
    }

    /** Decides for every page: absent, zero, a working-set slot, a new slot, or a slot the store already has. */
    private void classify(List<PageRun> workingSet) throws IOException {
        Arrays.fill(location, ABSENT);
        long total = input.present().stream().mapToLong(PageRun::pageCount).sum() * pageSize;
        long done = 0;
        MemorySegment zeros = Arena.ofAuto().allocate(pageSize);
        long[] presentStarts = input.present().stream().mapToLong(PageRun::firstPage).toArray();
        for (PageRun run : workingSet) {
            for (long p = run.firstPage(); p < run.endPage(); p++) {
                if (!isPresent(presentStarts, p)) {
                    throw new IllegalArgumentException("working-set page " + p + " is not in the snapshot's memory ("
                            + location.length + " pages" + (presentStarts.length > 1 ? ", some absent" : "") + ")");
                }
                ByteBuffer hash = hashOrZero(p, zeros);
                if (hash == null) {
                    location[(int) p] = ZERO;
                    continue;
                }
                Integer slot = ws.find(hash);
                if (slot != null) {
                    duplicates++;
                } else {
                    slot = ws.add(p, hash);
                }
                location[(int) p] = tag(WS, slot);
            }
        }
        for (PageRun run : input.present()) {
            for (long p = run.firstPage(); p < run.endPage(); p++) {
                done += pageSize;
                if (location[(int) p] != ABSENT) {
                    continue;
                }
                ByteBuffer hash = hashOrZero(p, zeros);
                Integer slot;
                if (hash == null) {
                    location[(int) p] = ZERO;
                } else if ((slot = ws.find(hash)) != null) {
                    duplicates++;
                    location[(int) p] = tag(WS, slot);
                } else if ((slot = fresh.find(hash)) != null) {
                    duplicates++;
                    location[(int) p] = tag(NEW, slot);
                } else if (known.containsKey(hash)) {
                    location[(int) p] = tag(OLD, oldSlots.size());
                    oldSlots.add(known.get(hash));
                } else {
                    location[(int) p] = tag(NEW, fresh.add(p, hash));
                }
                if ((done & ((64L << 20) - 1)) == 0) {
                    progress.update("hash", done, total);
                }
            }
        }
        progress.update("hash", total, total);
    }

    /**
     * Moves the new contents (not in the working set, not in the store) that are blocks of {@code disk} from the
     * pages to store to the disk: their pages will name disk frames.
     */
    private void leaveOnDisk(SnapshotDisk disk) throws IOException {
        Map<ByteBuffer, Long> onDisk = disk.find(fresh.slots.keySet(), pageSize, options.threads(), progress);
        if (onDisk.isEmpty()) {
            return;
        }
        PageGroup kept = new PageGroup();
        long[] moved = new long[fresh.pages.size()];
        for (int i = 0; i < moved.length; i++) {
            ByteBuffer hash = ByteBuffer.wrap(fresh.hashes.get(i));
            Long offset = onDisk.get(hash);
            if (offset != null) {
                moved[i] = tag(DISK, diskOffsets.size());
                diskOffsets.add(offset);
            } else {
                moved[i] = tag(NEW, kept.add(fresh.pages.get(i), hash));
            }
        }
        for (int p = 0; p < location.length; p++) {
            if (location[p] >= 0 && (int) (location[p] >>> 60) == NEW) {
                location[p] = moved[(int) (location[p] & ((1L << 60) - 1))];
            }
        }
        fresh = kept;
    }

    /**
     * Adds the disk frames: the blocks left on the disk, in disk order, runs of consecutive blocks of up to a frame's
     * pages each, hashed from the image as it is now. Returns, per disk content, its global slot.
     */
    private long[] addDiskFrames(SnapshotDisk disk) throws IOException {
        long[] slot = new long[diskOffsets.size()];
        long nextSlot = frames.stream().mapToLong(f -> f.stored().pageCount()).sum(); // disk frames come last
        Integer[] order = new Integer[diskOffsets.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Long.compare(diskOffsets.get(a), diskOffsets.get(b)));
        for (int i = 0; i < order.length; ) {
            long first = diskOffsets.get(order[i]);
            int n = 1;
            while (i + n < order.length && n < options.framePages() && diskOffsets.get(order[i + n]) == first + (long) n * pageSize) {
                n++;
            }
            byte[] bytes = disk.read(first, n * pageSize);
            frames.add(new Manifest.Frame(Manifest.DISK, new StoredFrame(first, bytes.length, n, false, Hashes.sha256(bytes))));
            for (int k = 0; k < n; k++) {
                slot[order[i + k]] = nextSlot++;
            }
            i += n;
        }
        return slot;
    }

    /** The page's SHA-256, or null when it is zero (a hole, or all zero bytes). */
    private ByteBuffer hashOrZero(long page, MemorySegment zeros) throws IOException {
        MemorySegment bytes = input.page(page);
        return bytes == null || bytes.mismatch(zeros) < 0 ? null : ByteBuffer.wrap(Hashes.sha256(bytes));
    }

    /** Distinct page contents in the order first seen: the pages to store, their hashes, and each content's slot. */
    private static final class PageGroup {
        final List<Long> pages = new ArrayList<>();
        final List<byte[]> hashes = new ArrayList<>();
        private final Map<ByteBuffer, Integer> slots = new HashMap<>();

        Integer find(ByteBuffer hash) {
            return slots.get(hash);
        }

        int add(long page, ByteBuffer hash) {
            int slot = pages.size();
            slots.put(hash, slot);
            pages.add(page);
            hashes.add(hash.array());
            return slot;
        }
    }

    private boolean isPresent(long[] presentStarts, long page) {
        int i = Arrays.binarySearch(presentStarts, page);
        i = i >= 0 ? i : -i - 2;
        return i >= 0 && page < input.present().get(i).endPage();
    }

    private static long tag(int group, long index) {
        return ((long) group << 60) | index;
    }

    /**
     * Frames {@code pages} in order, compresses them in parallel and writes them in packs (one pack when
     * {@code onePack}); appends the frames to the manifest's list and returns how many it added.
     */
    private int writePacks(List<Long> pages, List<byte[]> hashes, boolean onePack, int level) throws IOException {
        int fp = options.framePages();
        int frameCount = Math.ceilDiv(pages.size(), fp);
        if (frameCount == 0) {
            return 0;
        }
        ExecutorService pool = Executors.newFixedThreadPool(options.threads(), Thread.ofPlatform().daemon().name("push-compress-", 0).factory());
        ThreadLocal<Codec> codec = Codecs.threadLocal(() -> Codecs.create(options.codec(), level));
        ThreadLocal<MemorySegment> rawBuffer = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate((long) fp * pageSize, 4096));
        try {
            ByteArrayOutputStream pack = new ByteArrayOutputStream();
            List<StoredFrame> packFrames = new ArrayList<>();
            int packFirstSlot = 0;
            int slot = 0;
            int batch = options.threads() * 4;
            long totalBytes = (long) pages.size() * pageSize;
            for (int first = 0; first < frameCount; first += batch) {
                List<Future<byte[][]>> work = new ArrayList<>();
                for (int f = first; f < Math.min(frameCount, first + batch); f++) {
                    int from = f * fp;
                    int to = Math.min(pages.size(), from + fp);
                    work.add(pool.submit(() -> compress(pages.subList(from, to), codec.get(), rawBuffer.get())));
                }
                for (Future<byte[][]> w : work) {
                    byte[][] result = Futures.get(w);
                    byte[] stored = result[0];
                    int count = Math.min(fp, pages.size() - slot);
                    packFrames.add(new StoredFrame(pack.size(), stored.length, count, result[1][0] == 1, Hashes.sha256(stored)));
                    pack.write(stored);
                    slot += count;
                    if (!onePack && pack.size() >= options.packBytes()) {
                        flushPack(pack, packFrames, hashes.subList(packFirstSlot, slot), level);
                        packFirstSlot = slot;
                    }
                }
                progress.update(onePack ? "ws pack" : "pack", (long) slot * pageSize, totalBytes);
            }
            if (!packFrames.isEmpty()) {
                flushPack(pack, packFrames, hashes.subList(packFirstSlot, slot), level);
            }
            return frameCount;
        } finally {
            pool.shutdownNow();
        }
    }

    /** One frame: {stored bytes, {1 if compressed else 0}}; raw when compression saves less than 1/32. */
    private byte[][] compress(List<Long> pages, Codec codec, MemorySegment buffer) throws IOException {
        MemorySegment raw = buffer.asSlice(0, (long) pages.size() * pageSize);
        for (int i = 0; i < pages.size(); i++) {
            MemorySegment page = input.page(pages.get(i));
            MemorySegment.copy(page, 0, raw, (long) i * pageSize, pageSize);
        }
        byte[] out = new byte[codec.maxCompressedLength((int) raw.byteSize())];
        int length = codec.id() == CodecId.NONE ? Integer.MAX_VALUE : codec.compress(raw, MemorySegment.ofArray(out));
        if (length >= raw.byteSize() - raw.byteSize() / 32) {
            return new byte[][] {raw.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), {0}};
        }
        return new byte[][] {Arrays.copyOf(out, length), {1}};
    }

    /** Writes the pack, then its index; the frames join the manifest. */
    private void flushPack(ByteArrayOutputStream pack, List<StoredFrame> packFrames, List<byte[]> hashes, int level)
            throws IOException {
        byte[] data = pack.toByteArray();
        SnapshotStore.Stored packObject = put(StoreLayout.PACKS, data);
        ByteArrayOutputStream slotHashes = new ByteArrayOutputStream(hashes.size() * Hashes.LENGTH);
        hashes.forEach(slotHashes::writeBytes);
        PackIndex index = new PackIndex(packObject.hash(), data.length, pageSize, options.codec(), level,
                List.copyOf(packFrames), slotHashes.toByteArray());
        byte[] indexBytes = index.encode();
        SnapshotStore.Stored indexObject = put(StoreLayout.INDEXES, indexBytes);
        if (options.indexCache() != null) {
            options.indexCache().put(Hashes.parse(indexObject.hash()), indexBytes, 0, indexBytes.length); // the next push here need not fetch it
        }
        int packNumber = packs.size();
        packs.add(new Manifest.PackRef(packObject.hash(), indexObject.hash()));
        packFrames.forEach(f -> frames.add(new Manifest.Frame(packNumber, f)));
        pack.reset();
        packFrames.clear();
    }

    private SnapshotStore.Stored put(String kind, byte[] data) throws IOException {
        SnapshotStore.Stored stored = store.putObject(kind, data);
        if (stored.written()) {
            bytesWritten += data.length;
            objectsWritten++;
        }
        return stored;
    }

    /** Adds the store's frames this snapshot reuses; returns, per old slot, the manifest frame holding it. */
    private int[] addOldFrames() {
        Map<Long, Integer> frameOf = new LinkedHashMap<>();
        Map<Integer, Integer> packOf = new HashMap<>();
        int[] result = new int[oldSlots.size()];
        for (int i = 0; i < oldSlots.size(); i++) {
            int[] s = oldSlots.get(i);
            long key = ((long) s[0] << 32) | s[1];
            Integer frame = frameOf.get(key);
            if (frame == null) {
                PackIndex index = knownIndexes.get(s[0]);
                Integer pack = packOf.get(s[0]);
                if (pack == null) {
                    pack = packs.size();
                    packs.add(new Manifest.PackRef(index.pack(), knownIndexHashes.get(s[0])));
                    packOf.put(s[0], pack);
                }
                frame = frames.size();
                frames.add(new Manifest.Frame(pack, index.frames().get(s[1])));
                frameOf.put(key, frame);
            }
            result[i] = frame;
        }
        return result;
    }

    /** The page map: runs of zero pages and runs of pages on consecutive global slots. */
    private List<Manifest.MapExtent> extents(int wsFrames, int[] oldFrame, long[] diskSlot) {
        long[] firstSlot = new long[frames.size() + 1];
        for (int i = 0; i < frames.size(); i++) {
            firstSlot[i + 1] = firstSlot[i] + frames.get(i).stored().pageCount();
        }
        long wsSlots = firstSlot[wsFrames];
        List<Manifest.MapExtent> extents = new ArrayList<>();
        long runStart = -1, runSlot = -1;
        boolean runZero = false;
        int runCount = 0;
        for (int p = 0; p < location.length; p++) {
            long loc = location[p];
            if (loc == ABSENT) {
                if (runCount > 0) {
                    extents.add(new Manifest.MapExtent(runStart, runCount, runZero, runZero ? 0 : runSlot));
                    runCount = 0;
                }
                continue;
            }
            boolean zero = loc == ZERO;
            long slot = zero ? 0 : switch ((int) (loc >>> 60)) {
                case WS -> loc & ((1L << 60) - 1);
                case NEW -> wsSlots + (loc & ((1L << 60) - 1));
                case DISK -> diskSlot[(int) (loc & ((1L << 60) - 1))];
                default -> {
                    int i = (int) (loc & ((1L << 60) - 1));
                    yield firstSlot[oldFrame[i]] + oldSlots.get(i)[2];
                }
            };
            boolean extend = runCount > 0 && runCount < Integer.MAX_VALUE && runStart + runCount == p && runZero == zero
                    && (zero || runSlot + runCount == slot);
            if (extend) {
                runCount++;
                continue;
            }
            if (runCount > 0) {
                extents.add(new Manifest.MapExtent(runStart, runCount, runZero, runZero ? 0 : runSlot));
            }
            runStart = p;
            runSlot = slot;
            runZero = zero;
            runCount = 1;
        }
        if (runCount > 0) {
            extents.add(new Manifest.MapExtent(runStart, runCount, runZero, runZero ? 0 : runSlot));
        }
        return extents;
    }
}
