package dev.sabre.store;

import dev.sabre.format.PageRun;
import dev.sabre.restore.Installer;
import dev.sabre.restore.PageSource;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stored snapshot served page by page for page faults, through the host cache: a zero page goes in
 * as zeros, a stored page by fetching (once per host) and decoding the frame that holds it, its hash
 * checked first. Pages absent from the snapshot read as zeros. {@link #prefetchWorkingSet} installs the
 * working set first with parallel ranged requests of up to {@link SnapshotStore#RANGE_BYTES}, decoding and
 * installing each range as it arrives. Thread-safe.
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
        return cache.get(manifest.frames().get(frame).stored().sha256(), () -> {
            byte[] bytes = store.fetchFrame(manifest, frame);
            requests.incrementAndGet();
            fetchedBytes.addAndGet(bytes.length);
            return bytes;
        });
    }

    public record PrefetchResult(long pages, long bytesInstalled, long requests, long fetchedBytes, long nanos) {
    }

    /**
     * Installs the working set (and any other page its frames hold) through {@code installer}: its frames,
     * back to back in one pack, are fetched in ranges of up to {@link SnapshotStore#RANGE_BYTES} by
     * {@code parallel} requests at once, each range checked frame by frame, cached, decoded and installed
     * as soon as it arrives. Zero pages of the working set are installed as zeros.
     */
    public PrefetchResult prefetchWorkingSet(Installer installer, int parallel) throws IOException {
        long start = System.nanoTime();
        long requestsBefore = requests.get();
        long fetchedBefore = fetchedBytes.get();
        List<int[]> ranges = SnapshotStore.ranges(manifest, java.util.stream.IntStream.range(manifest.wsFirstFrame(),
                manifest.wsFirstFrame() + manifest.wsFrameCount()).boxed().toList());
        Map<Integer, List<Manifest.FrameRun>> byFrame = manifest.pagesByFrame();
        AtomicLong installed = new AtomicLong();
        AtomicLong pages = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, parallel), Thread.ofPlatform().daemon().name("ws-prefetch-", 0).factory());
        try {
            List<Future<?>> work = new ArrayList<>();
            for (int[] range : ranges) {
                work.add(pool.submit(() -> {
                    fetchRange(range[0], range[1]);
                    FrameCache decoded = frames.get();
                    for (int f = range[0]; f < range[1]; f++) {
                        MemorySegment raw = decoded.frame(f);
                        for (Manifest.FrameRun run : byFrame.getOrDefault(f, List.of())) {
                            installed.addAndGet(installer.copy(run.firstPage() * pageSize(),
                                    raw.asSlice((long) run.slot() * pageSize(), (long) run.pageCount() * pageSize())));
                            pages.addAndGet(run.pageCount());
                        }
                    }
                    return null;
                }));
            }
            for (PageRun run : manifest.workingSet()) {
                for (long p = run.firstPage(); p < run.endPage(); p++) {
                    Manifest.MapExtent e = manifest.extentOf(p);
                    if (e != null && e.zero()) {
                        installed.addAndGet(installer.zero(p * pageSize(), pageSize()));
                        pages.incrementAndGet();
                    }
                }
            }
            for (Future<?> w : work) {
                Puller.await(w);
            }
        } finally {
            pool.shutdownNow();
        }
        return new PrefetchResult(pages.get(), installed.get(), requests.get() - requestsBefore,
                fetchedBytes.get() - fetchedBefore, System.nanoTime() - start);
    }

    /**
     * Makes frames {@code first .. end - 1} cached: one ranged request for the whole range, made by one
     * process on the host (the cache's lock on the first frame), which also caches the others.
     */
    private void fetchRange(int first, int end) throws IOException {
        boolean allCached = true;
        for (int f = first; f < end && allCached; f++) {
            allCached = cache.contains(manifest.frames().get(f).stored().sha256());
        }
        if (allCached) {
            return;
        }
        cache.get(manifest.frames().get(first).stored().sha256(), () -> {
            byte[] data = store.fetchFrames(manifest, first, end);
            requests.incrementAndGet();
            fetchedBytes.addAndGet(data.length);
            long base = manifest.frames().get(first).stored().offset();
            for (int f = first + 1; f < end; f++) {
                StoredFrame s = manifest.frames().get(f).stored();
                cache.put(s.sha256(), data, (int) (s.offset() - base), s.storedLength());
            }
            return java.util.Arrays.copyOf(data, manifest.frames().get(first).stored().storedLength());
        });
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
