package dev.sabre.store;

import dev.sabre.format.PageRun;
import dev.sabre.format.Progress;
import dev.sabre.restore.FrameSource;
import dev.sabre.restore.Installer;
import dev.sabre.restore.PageSource;
import dev.sabre.restore.RestoreEngine;
import dev.sabre.restore.RestoreOptions;
import dev.sabre.restore.RestorePlan;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * A stored snapshot served page by page for page faults, through the host cache: a zero page goes in
 * as zeros, a stored page by fetching (once per host) and decoding the frame that holds it, its hash
 * checked first. Pages absent from the snapshot read as zeros. {@link #restoreFrames} gives the restore
 * engine the whole snapshot (eager restores) or its working set ({@link #prefetchWorkingSet}) to fetch with
 * parallel ranged requests of up to {@link SnapshotStore#RANGE_BYTES}, decoding and installing each range as
 * it arrives. Thread-safe.
 */
public final class StorePages implements PageSource {
    private static final int CACHED_FRAMES = 8;

    private final SnapshotStore store;
    private final Manifest manifest;
    private final String name;
    private final HostCache cache;
    private final boolean ownsStore;
    private final AtomicLong fetchedBytes = new AtomicLong();
    private final AtomicLong requests = new AtomicLong();
    /**
     * Ranges this process is fetching, by frame: a fault on one of their frames waits for the range rather
     * than fetching its frame a second time.
     */
    private final ConcurrentHashMap<Integer, CompletableFuture<Void>> fetching = new ConcurrentHashMap<>();
    private final ThreadLocal<FrameCache> frames = ThreadLocal.withInitial(FrameCache::new);

    private StorePages(SnapshotStore store, String name, Manifest manifest, HostCache cache, boolean ownsStore) {
        this.store = store;
        this.name = name;
        this.manifest = manifest;
        this.cache = cache;
        this.ownsStore = ownsStore;
    }

    /** Opens snapshot {@code name} of {@code store} (its manifest fetched and checked); the caller keeps owning store and cache. */
    public static StorePages open(SnapshotStore store, String name, HostCache cache) throws IOException {
        return open(store, name, cache, false);
    }

    static StorePages open(SnapshotStore store, String name, HostCache cache, boolean ownsStore) throws IOException {
        return new StorePages(store, name, store.manifest(name), cache, ownsStore);
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
        MemorySegment decoded = frames.get().frame(frame);
        return installer.copy(page * pageSize, decoded.asSlice((slot - manifest.firstSlot(frame)) * pageSize, pageSize));
    }

    /** Bytes fetched from the store (not the cache) by this source. */
    @Override
    public long bytesRead() {
        return fetchedBytes.get();
    }

    /** Requests made to the store by this source. */
    public long requests() {
        return requests.get();
    }

    /** Frame {@code frame}'s checked stored bytes, from the host cache or one ranged request. */
    private byte[] stored(int frame) throws IOException {
        return stored(frame, new AtomicLong());
    }

    /** {@link #stored(int)}, adding the bytes fetched from the store (not the cache) to {@code fetchedHere}. */
    private byte[] stored(int frame, AtomicLong fetchedHere) throws IOException {
        CompletableFuture<Void> range = fetching.get(frame);
        if (range != null) {
            range.join(); // then the frame is cached, unless that range failed: then it is fetched alone
        }
        return cache.get(manifest.frames().get(frame).stored().sha256(), () -> {
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
                : byFrame.keySet().stream().mapToInt(Integer::intValue).toArray();
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
        RestorePlan plan = RestorePlan.of(planFrames, planned, stored, zeros, pageSize(), SnapshotStore.RANGE_BYTES);
        return new EngineFrames(plan, Math.max(1, parallel), workingSetOnly ? "working set of " + describe() : describe());
    }

    private String describe() {
        return store.location() + "/" + name;
    }

    /**
     * Makes frames {@code first .. end - 1} cached: one ranged request for the whole range, made by one
     * process on the host (the cache's lock on the first frame), which also caches the others. Returns the
     * range's bytes when this call fetched them, else null (they were cached, or another process fetched them).
     */
    private byte[] fetchRange(int first, int end) throws IOException {
        boolean allCached = true;
        for (int f = first; f < end && allCached; f++) {
            allCached = cache.contains(manifest.frames().get(f).stored().sha256());
        }
        if (allCached) {
            return null;
        }
        byte[][] fetched = new byte[1][];
        CompletableFuture<Void> done = new CompletableFuture<>();
        for (int f = first; f < end; f++) {
            fetching.putIfAbsent(f, done);
        }
        try {
            cache.get(manifest.frames().get(first).stored().sha256(), () -> {
                byte[] data = store.fetchFrames(manifest, first, end);
                requests.incrementAndGet();
                fetchedBytes.addAndGet(data.length);
                long base = manifest.frames().get(first).stored().offset();
                for (int f = first + 1; f < end; f++) {
                    StoredFrame s = manifest.frames().get(f).stored();
                    cache.put(s.sha256(), data, (int) (s.offset() - base), s.storedLength());
                }
                fetched[0] = data;
                return Arrays.copyOf(data, manifest.frames().get(first).stored().storedLength());
            });
        } finally {
            for (int f = first; f < end; f++) {
                fetching.remove(f, done);
            }
            done.complete(null);
        }
        return fetched[0];
    }

    /** {@link #restoreFrames}: each chunk one range of a pack, fetched once per host and checked on the way in. */
    private final class EngineFrames implements FrameSource {
        private final RestorePlan plan;
        private final int parallel;
        private final String description;
        private final AtomicLong fetched = new AtomicLong();

        EngineFrames(RestorePlan plan, int parallel, String description) {
            this.plan = plan;
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

        /** One ranged request for the chunk unless the host cache holds all its frames; every frame hash-checked. */
        @Override
        public MemorySegment read(RestorePlan.Chunk chunk, MemorySegment buffer) throws IOException {
            int first = chunk.firstFrame();
            byte[] range = fetchRange(first, first + chunk.frameCount());
            if (range != null) {
                fetched.addAndGet(range.length);
                MemorySegment.copy(MemorySegment.ofArray(range), 0, buffer, 0, range.length);
                return buffer.asSlice(0, range.length);
            }
            long pos = 0;
            for (int f = first; f < first + chunk.frameCount(); f++) {
                byte[] bytes = stored(f, fetched); // cached (checked on read), or fetched alone if evicted meanwhile
                MemorySegment.copy(MemorySegment.ofArray(bytes), 0, buffer, pos, bytes.length);
                pos += bytes.length;
            }
            return buffer.asSlice(0, pos);
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
            return (long) manifest.frames().get(frame).stored().pageCount() * manifest.pageSize();
        }

        @Override
        public void decodeFrame(int frame, MemorySegment stored, MemorySegment raw) throws IOException {
            store.decodeFrame(manifest, frame, stored, raw);
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

    @Override
    public void close() {
        if (ownsStore) {
            store.close();
        }
    }

    /** The last few frames this thread decoded, least recently used evicted first. */
    private final class FrameCache {
        private final Arena arena = Arena.ofAuto();
        private final LinkedHashMap<Integer, MemorySegment> decoded = new LinkedHashMap<>(16, 0.75f, true);

        MemorySegment frame(int index) throws IOException {
            MemorySegment cached = decoded.get(index);
            if (cached != null) {
                return cached;
            }
            long bytes = (long) manifest.frames().get(index).stored().pageCount() * pageSize();
            MemorySegment buffer = null;
            if (decoded.size() >= CACHED_FRAMES) {
                Map.Entry<Integer, MemorySegment> eldest = decoded.entrySet().iterator().next();
                decoded.remove(eldest.getKey());
                if (eldest.getValue().byteSize() >= bytes) {
                    buffer = eldest.getValue();
                }
            }
            if (buffer == null) {
                buffer = arena.allocate(bytes, 4096);
            }
            MemorySegment raw = buffer.asSlice(0, bytes);
            store.decodeFrame(manifest, index, MemorySegment.ofArray(stored(index)), raw);
            decoded.put(index, buffer);
            return raw;
        }
    }
}
