package dev.sabre.store;

import dev.sabre.format.PageRun;
import dev.sabre.format.Progress;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.Processes;
import dev.sabre.restore.DecodedFrames;
import dev.sabre.restore.FrameSource;
import dev.sabre.restore.Installer;
import dev.sabre.restore.PageSource;
import dev.sabre.restore.RestoreEngine;
import dev.sabre.restore.RestoreOptions;
import dev.sabre.restore.RestorePlan;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.stream.IntStream;

/**
 * A stored snapshot served page by page for page faults, through the host cache: a zero page goes in
 * as zeros, a stored page by fetching (once per host) and decoding the frame that holds it, its hash
 * checked first. Pages absent from the snapshot read as zeros. {@link #restoreFrames} gives the restore
 * engine the whole snapshot (eager restores) or its working set ({@link #prefetchWorkingSet}) to fetch with
 * parallel ranged requests of up to {@link SnapshotStore#RANGE_BYTES}, decoding and installing each range as
 * it arrives. Disk frames (STORE.md, "Disk frames") are read from the VM's disk image, checked the same way.
 * Thread-safe.
 */
public final class StorePages implements PageSource {
    private final SnapshotStore store;
    private final Manifest manifest;
    private final String name;
    private final HostCache cache;
    private final boolean ownsStore;
    private final SnapshotDisk disk;
    private final AtomicLong fetchedBytes = new AtomicLong();
    private final AtomicLong requests = new AtomicLong();
    /** The restore plans, worked out once per source: [0] every page, [1] the working set. */
    private final AtomicReferenceArray<Planned> plans = new AtomicReferenceArray<>(2);
    private final DecodedFrames decoded;

    private StorePages(SnapshotStore store, String name, Manifest manifest, HostCache cache, SnapshotDisk disk, boolean ownsStore)
            throws IOException {
        this.disk = disk;
        this.store = store;
        this.name = name;
        SnapshotDisk.checkGiven(disk, manifest, describe());
        this.manifest = manifest;
        this.cache = cache;
        this.ownsStore = ownsStore;
        this.decoded = new DecodedFrames(describe(), new DecodedFrames.Decoder() {
            @Override
            public long frameBytes(int frame) {
                return manifest.rawBytes(frame);
            }

            @Override
            public long scratchBytes() {
                return 0; // stored bytes come as arrays from the cache
            }

            @Override
            public void decode(int frame, MemorySegment raw, MemorySegment scratch) throws IOException {
                store.decodeFrame(manifest, frame, MemorySegment.ofArray(stored(frame)), raw);
            }
        });
    }

    /** Opens snapshot {@code name} of {@code store} (its manifest fetched and checked); the caller keeps owning store and cache. */
    public static StorePages open(SnapshotStore store, String name, HostCache cache) throws IOException {
        return open(store, name, cache, null, false);
    }

    /**
     * {@link #open(SnapshotStore, String, HostCache)} with the VM's disk image, from which its disk frames are read
     * (null when it has none); the caller keeps owning it too.
     */
    public static StorePages open(SnapshotStore store, String name, HostCache cache, SnapshotDisk disk) throws IOException {
        return open(store, name, cache, disk, false);
    }

    static StorePages open(SnapshotStore store, String name, HostCache cache, SnapshotDisk disk, boolean owns) throws IOException {
        return new StorePages(store, name, store.manifest(name), cache, disk, owns);
    }

    public Manifest manifest() {
        return manifest;
    }

    @Override
    public int pageSize() {
        return manifest.pageSize();
    }

    @Override
    public long memorySize() {
        return manifest.memorySize();
    }

    @Override
    public long serve(long page, Installer installer) throws IOException {
        int pageSize = pageSize();
        if (page < 0 || page >= manifest.pageCount()) {
            throw new IOException(store.location() + "/" + name + ": page " + page + " is outside the " + manifest.pageCount() + "-page memory");
        }
        Manifest.MapExtent e = manifest.extentOf(page);
        if (e == null || e.zero()) {
            return installer.zero(page * pageSize, pageSize);
        }
        long slot = e.slot() + (page - e.firstPage());
        int frame = manifest.frameOfSlot(slot);
        long offset = (slot - manifest.firstSlot(frame)) * pageSize;
        return decoded.withFrame(frame, f -> installer.copy(page * pageSize, f.asSlice(offset, pageSize)));
    }

    /** Bytes fetched from the store (not the cache) by this source: by faults and by its restore engines alike. */
    @Override
    public long bytesRead() {
        return fetchedBytes.get();
    }

    @Override
    public boolean countsRestoreReads() {
        return true;
    }

    /** Requests made to the store by this source. */
    public long requests() {
        return requests.get();
    }

    /** Frame {@code frame}'s checked stored bytes: from the disk image, the host cache or one ranged request. */
    private byte[] stored(int frame) throws IOException {
        return stored(frame, new AtomicLong());
    }

    /** {@link #stored(int)}, adding the bytes fetched from the store (not the cache) to {@code fetchedHere}. */
    private byte[] stored(int frame, AtomicLong fetchedHere) throws IOException {
        if (manifest.frames().get(frame).onDisk()) {
            return disk.frame(manifest, frame);
        }
        CompletableFuture<byte[]> coming = cache.arriving(sha256(frame)); // a streamed range, maybe another restore's
        if (coming != null) {
            long start = System.nanoTime();
            try {
                byte[] bytes = coming.join();
                if (StoreTrace.on()) {
                    StoreTrace.event("frame %d waited %.2f ms for its transfer", frame, StoreTrace.ms(start));
                }
                return bytes;
            } catch (CompletionException | CancellationException failed) {
                // that transfer failed: the frame is fetched alone, which says what is wrong if it fails again
            }
        }
        return cache.get(sha256(frame), () -> {
            byte[] bytes = store.fetchFrame(manifest, frame);
            requests.incrementAndGet();
            fetchedBytes.addAndGet(bytes.length);
            fetchedHere.addAndGet(bytes.length);
            return bytes;
        });
    }

    public record PrefetchResult(long pages, long bytesInstalled, long requests, long fetchedBytes, long nanos) {
    }

    /**
     * Installs the working set (and any other page its frames hold) through {@code installer} with the
     * restore engine ({@link #restoreFrames}): its frames, back to back in one pack, fetched in ranges of up
     * to {@link SnapshotStore#RANGE_BYTES} by {@code parallel} requests at once, each range checked frame by
     * frame, cached, decoded and installed as soon as it arrives. Zero pages of the working set go in as zeros.
     */
    public PrefetchResult prefetchWorkingSet(Installer installer, int parallel) throws IOException {
        long start = System.nanoTime();
        long requestsBefore = requests.get();
        long fetchedBefore = fetchedBytes.get();
        try (RestoreEngine engine = RestoreEngine.start(restoreFrames(true, parallel), installer, RestoreOptions.defaults(),
                Progress.NONE)) {
            long installed = engine.await().bytesInstalled();
            return new PrefetchResult(installed / pageSize(), installed, requests.get() - requestsBefore,
                    fetchedBytes.get() - fetchedBefore, System.nanoTime() - start);
        }
    }

    /**
     * This snapshot's frames as the restore engine reads them: every page ({@code workingSetOnly} false: an
     * eager restore) or the working set's frames and zero pages. A chunk is a run of consecutive frames of one
     * pack, at most {@link SnapshotStore#RANGE_BYTES} stored, fetched with one ranged request through the host
     * cache; {@code parallel} requests are kept in flight.
     */
    public FrameSource restoreFrames(boolean workingSetOnly, int parallel) {
        return new EngineFrames(planned(workingSetOnly), Math.max(1, parallel),
                workingSetOnly ? "working set of " + describe() : describe());
    }

    /** Works out the restore plan for the working set (or every page) now, at handler start, rather than in a session. */
    public void prepare(boolean workingSetOnly) {
        planned(workingSetOnly);
    }

    /**
     * Starts fetching the working set (or every page) now, for a restore about to begin: E2B likewise fetches
     * before the userfaultfd is ready. Returns at once; the restore's reads then wait for these transfers.
     */
    public void startFetching(boolean workingSetOnly) {
        Planned p = planned(workingSetOnly);
        for (int[] range : p.ranges()) {
            fetchAhead(range[0], range[1], new AtomicLong());
        }
    }

    /**
     * A restore plan and the ranged requests that fetch it: chunks of at most {@link #PIPELINE_CHUNK_BYTES} stored,
     * so the engine decodes and installs the first while later ones arrive; requests of up to
     * {@link SnapshotStore#RANGE_BYTES}, so a working set is still a few requests. Frame f lies in the request
     * range {@code rangeStart[f] .. rangeEnd[f] - 1} (both 0 for a frame not planned). Every restore of the snapshot
     * requests the same ranges, so two on one host (threads or processes) take the same cache lock, that of the
     * range's first frame, and the second finds the range cached.
     */
    private record Planned(RestorePlan plan, List<int[]> ranges, int[] rangeStart, int[] rangeEnd) {
    }

    /** Stored bytes per chunk of a restore from a store: small enough that decoding overlaps the transfer. */
    static final long PIPELINE_CHUNK_BYTES = 512 << 10;

    /** The plan for the working set or every page, worked out on first use and kept: sessions do not pay for it. */
    private Planned planned(boolean workingSetOnly) {
        int which = workingSetOnly ? 1 : 0;
        Planned p = plans.get(which);
        if (p == null) {
            p = plan(workingSetOnly);
            if (!plans.compareAndSet(which, null, p)) {
                p = plans.get(which);
            }
        }
        return p;
    }

    private Planned plan(boolean workingSetOnly) {
        List<RestorePlan.Frame> planFrames = new ArrayList<>(manifest.frames().size());
        for (Manifest.Frame f : manifest.frames()) {
            planFrames.add(new RestorePlan.Frame(f.pack(), f.stored().offset(), f.stored().storedLength(), f.stored().pageCount()));
        }
        Map<Integer, List<Manifest.FrameRun>> byFrame = manifest.pagesByFrame();
        List<RestorePlan.FramePages> stored = new ArrayList<>();
        byFrame.values().forEach(runs -> runs.forEach(r ->
                stored.add(new RestorePlan.FramePages(r.firstPage(), r.frame(), r.slot(), r.pageCount()))));
        int[] planned = workingSetOnly
                ? IntStream.range(manifest.wsFirstFrame(), manifest.wsFirstFrame() + manifest.wsFrameCount()).toArray()
                : byFrame.keySet().stream().mapToInt(Integer::intValue).sorted().toArray();
        List<RestorePlan.Run> zeros = new ArrayList<>();
        if (workingSetOnly) {
            for (PageRun run : manifest.workingSet()) {
                for (long p = run.firstPage(); p < run.endPage(); p++) {
                    Manifest.MapExtent e = manifest.extentOf(p);
                    if (e != null && e.zero()) {
                        zeros.add(new RestorePlan.Run(p, 0, 1));
                    }
                }
            }
        } else {
            manifest.extents().stream().filter(Manifest.MapExtent::zero)
                    .forEach(e -> zeros.add(new RestorePlan.Run(e.firstPage(), 0, e.pageCount())));
        }
        RestorePlan plan = RestorePlan.of(planFrames, planned, stored, zeros, pageSize(), PIPELINE_CHUNK_BYTES);
        List<int[]> ranges = SnapshotStore.ranges(manifest, Arrays.stream(planned).boxed().toList());
        int[] rangeStart = new int[manifest.frames().size()];
        int[] rangeEnd = new int[manifest.frames().size()];
        for (int[] r : ranges) {
            Arrays.fill(rangeStart, r[0], r[1], r[0]);
            Arrays.fill(rangeEnd, r[0], r[1], r[1]);
        }
        if (StoreTrace.on()) {
            StoreTrace.event("plan %s: %d chunks, %d ranges, %d stored bytes, %d zero runs", workingSetOnly ? "working set" : "every page",
                    plan.chunks().size(), ranges.size(), plan.chunks().stream().mapToLong(RestorePlan.Chunk::storedBytes).sum(),
                    plan.zeroRuns().size());
        }
        return new Planned(plan, ranges, rangeStart, rangeEnd);
    }

    private String describe() {
        return store.location() + "/" + name;
    }

    /**
     * Makes frames {@code first .. end - 1} cached or arriving: those that are neither are claimed here and fetched
     * with streamed ranged requests (one per run of consecutive claimed frames, at most
     * {@link SnapshotStore#RANGE_BYTES}) on threads of their own. Returns at once; the bytes those requests fetch are
     * added to {@code fetchedHere}.
     */
    private void fetchAhead(int first, int end, AtomicLong fetchedHere) {
        List<Integer> claimed = new ArrayList<>();
        Map<Integer, CompletableFuture<byte[]>> mine = new HashMap<>();
        for (int f = first; f < end; f++) {
            CompletableFuture<byte[]> coming = cache.claim(sha256(f));
            if (coming != null) {
                claimed.add(f);
                mine.put(f, coming);
            }
        }
        for (int[] range : SnapshotStore.ranges(manifest, claimed)) {
            Thread.ofPlatform().daemon().name("sabre-store-fetch").start(() -> streamRange(range[0], range[1], mine, fetchedHere));
        }
    }

    private byte[] sha256(int frame) {
        return manifest.frames().get(frame).stored().sha256();
    }

    /**
     * Fetches claimed frames {@code first .. end - 1} with one streamed request, made by one process on the host
     * (the cache's lock on the first frame): each frame is handed to its waiters as soon as it has arrived and
     * matched its hash, and only then, off their path, written to the host cache. Frames another process cached
     * while this one waited for the lock come from the cache. A failure is handed to every waiter still waiting.
     */
    private void streamRange(int first, int end, Map<Integer, CompletableFuture<byte[]>> claimed, AtomicLong fetchedHere) {
        try {
            cache.locked(sha256(first), () -> {
                int from = end, to = first;
                for (int f = first; f < end; f++) {
                    byte[] cached = cache.find(sha256(f));
                    if (cached != null) {
                        claimed.get(f).complete(cached);
                    } else {
                        from = Math.min(from, f);
                        to = f + 1;
                    }
                }
                if (from >= to) {
                    return null;
                }
                byte[][] received = new byte[to - from][];
                int base = from;
                requests.addAndGet(store.streamFrames(manifest, from, to, (f, bytes) -> {
                    received[f - base] = bytes;
                    fetchedBytes.addAndGet(bytes.length); // counted before anyone can use it, so a finished restore's count is whole
                    fetchedHere.addAndGet(bytes.length);
                    cache.countFetched(bytes.length);
                    claimed.get(f).complete(bytes);
                }));
                lowerPriorityForCacheWrites();
                long start = System.nanoTime();
                for (int f = from; f < to; f++) {
                    cache.put(sha256(f), received[f - from], 0, received[f - from].length);
                }
                if (StoreTrace.on()) {
                    StoreTrace.event("frames %d..%d written to the host cache in %.2f ms", from, to - 1, StoreTrace.ms(start));
                }
                return null;
            });
        } catch (Throwable t) {
            for (int f = first; f < end; f++) {
                claimed.get(f).completeExceptionally(t);
            }
        } finally {
            for (int f = first; f < end; f++) {
                cache.release(sha256(f), claimed.get(f));
            }
        }
    }

    /**
     * Drops the calling fetch thread (one per request range, which ends after it) to the lowest CPU priority: its
     * remaining work, writing the range's frames to the host cache (a file each), then takes only CPU time the
     * restore leaves idle instead of competing with its decoding and installing. Traces showed a working set's 39
     * cache files taking 100 ms, across the prefetch's last 70 ms. Best effort: failing to lower it only loses that.
     */
    private static void lowerPriorityForCacheWrites() {
        try {
            Processes.setThreadNice(Processes.LOWEST_PRIORITY);
        } catch (LinuxException e) {
            if (StoreTrace.on()) {
                StoreTrace.event("cannot lower the cache writer's priority: %s", e.getMessage());
            }
        }
    }

    /** {@link #restoreFrames}: each chunk one range of a pack, fetched once per host and checked on the way in. */
    private final class EngineFrames implements FrameSource {
        private final Planned planned;
        private final RestorePlan plan;
        private final int parallel;
        private final String description;
        private final AtomicLong fetched = new AtomicLong();

        EngineFrames(Planned planned, int parallel, String description) {
            this.planned = planned;
            this.plan = planned.plan();
            this.parallel = parallel;
            this.description = description;
        }

        @Override
        public String name() {
            return description;
        }

        @Override
        public int pageSize() {
            return manifest.pageSize();
        }

        @Override
        public RestorePlan plan() {
            return plan;
        }

        @Override
        public int frameOf(long page) {
            Manifest.MapExtent e = page < 0 || page >= manifest.pageCount() ? null : manifest.extentOf(page);
            return e == null || e.zero() ? -1 : manifest.frameOfSlot(e.slot() + (page - e.firstPage()));
        }

        /** Enough workers to keep {@code parallel} requests in flight: they wait for the network holding no compute permit. */
        @Override
        public int workers(RestoreOptions options) {
            return Math.max(options.cpuWorkers(), parallel);
        }

        @Override
        public boolean readsWait() {
            return true;
        }

        @Override
        public boolean directIo() {
            return false;
        }

        @Override
        public long readBufferBytes() {
            return Math.max(1, plan.maxStoredBytes());
        }

        /**
         * The chunk's frames as they arrive: a streamed request for the request range that holds the chunk is
         * started unless its frames are cached or already coming (another chunk's request, or
         * {@link #startFetching}), so most chunks wait for a request already on the wire; every frame hash-checked
         * before it is handed over.
         */
        @Override
        public MemorySegment read(RestorePlan.Chunk chunk, MemorySegment buffer) throws IOException {
            long start = System.nanoTime();
            int first = chunk.firstFrame(), end = first + chunk.frameCount();
            if (manifest.frames().get(first).onDisk()) { // a chunk is frames of one pack, or of the disk
                return copyFrames(first, end, buffer, fetched);
            }
            for (int f : new int[] {first, end - 1}) { // a chunk may straddle two request ranges
                if (planned.rangeEnd()[f] > f) {
                    fetchAhead(planned.rangeStart()[f], planned.rangeEnd()[f], fetched);
                }
            }
            fetchAhead(first, end, fetched); // claims nothing unless a frame lies in no planned range
            MemorySegment read = copyFrames(first, end, buffer, fetched);
            if (StoreTrace.on()) {
                StoreTrace.event("chunk frames %d..%d (%d bytes) read in %.2f ms", first, end - 1, chunk.storedBytes(), StoreTrace.ms(start));
            }
            return read;
        }

        /** Frames {@code first .. end - 1}, back to back in one pack or on the disk, copied into {@code buffer} as they lie. */
        private MemorySegment copyFrames(int first, int end, MemorySegment buffer, AtomicLong fetchedHere) throws IOException {
            long base = manifest.frames().get(first).stored().offset();
            for (int f = first; f < end; f++) {
                StoredFrame s = manifest.frames().get(f).stored();
                MemorySegment.copy(MemorySegment.ofArray(stored(f, fetchedHere)), 0, buffer, s.offset() - base, s.storedLength());
            }
            return buffer.asSlice(0, manifest.frames().get(end - 1).stored().end() - base);
        }

        /** Nothing left to check: {@link #read} returns only bytes that matched their SHA-256. */
        @Override
        public void checkFrame(int frame, MemorySegment stored) {
        }

        @Override
        public long storedLength(int frame) {
            return manifest.frames().get(frame).stored().storedLength();
        }

        @Override
        public boolean compressed(int frame) {
            return manifest.frames().get(frame).stored().compressed();
        }

        @Override
        public long frameBytes(int frame) {
            return manifest.rawBytes(frame);
        }

        @Override
        public void decodeFrame(int frame, MemorySegment stored, MemorySegment raw) throws IOException {
            long start = System.nanoTime();
            store.decodeFrame(manifest, frame, stored, raw);
            if (StoreTrace.on()) {
                StoreTrace.event("frame %d decoded in %.2f ms", frame, StoreTrace.ms(start));
            }
        }

        /** Bytes this restore's reads fetched from the store (not the cache). */
        @Override
        public long bytesRead() {
            return fetched.get();
        }

        @Override
        public void close() {
        }
    }

    /** Unmaps the serving threads' decoded frames, then closes the store and the disk image when this source owns them. */
    @Override
    public void close() throws IOException {
        try {
            decoded.close();
        } finally {
            if (ownsStore) {
                try {
                    store.close();
                } finally {
                    if (disk != null) {
                        disk.close();
                    }
                }
            }
        }
    }
}
