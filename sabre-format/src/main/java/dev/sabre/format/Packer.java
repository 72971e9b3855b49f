package dev.sabre.format;

import dev.sabre.codec.Codec;
import dev.sabre.codec.CodecId;
import dev.sabre.codec.Codecs;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Packs a {@link MemoryImage} into a .sabre file.
 *
 * <p>The pipeline: choose the pages and their order (page order, or a working set's fault order);
 * classify each in parallel (all-zero, else a content hash); keep the first of each set of identical
 * pages; group the stored pages into frames by the policy; compress frames in parallel, keeping a raw
 * frame where compression saves less than 1/32; write frames in order, then the page map.
 */
public final class Packer {
    private static final byte ZERO = 1;
    private static final byte STORED = 2;
    private static final byte COPY = 3;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    /** Pages one pack handles: the per-page tables (and their hash maps of twice the size) stay in Java arrays. */
    static final int MAX_PAGES = 1 << 29;

    /** What a pack did: the written snapshot's statistics and where the time went. */
    public record Result(SnapshotStats stats, SnapshotHeader header, long classifyNanos, long compressNanos,
                         long totalNanos) {
    }

    private Packer() {
    }

    public static Result pack(MemoryImage image, Path out, PackOptions options, Progress progress) throws IOException {
        long start = System.nanoTime();
        Progress report = progress == null ? Progress.NONE : progress;
        int pageSize = image.pageSize();
        PackPolicy policy = options.policy();
        CodecId codecId = policy == PackPolicy.PASSTHROUGH ? CodecId.NONE : options.codec();
        int level = codecId == CodecId.NONE ? 0 : options.level();
        codecId.checkLevel(level);
        Codecs.create(codecId, level); // fail fast, before any work, if no backend can do this level
        int bound = switch (policy) {
            case SINGLE -> (int) (SnapshotFormat.MAX_FRAME_BYTES / pageSize);
            case PAGE -> 1;
            default -> options.framePages();
        };
        if (bound <= 0 || (long) bound * pageSize > SnapshotFormat.MAX_FRAME_BYTES) {
            throw new IllegalArgumentException("frame size of %d pages is outside 1 page .. 256 MiB".formatted(bound));
        }

        Sequence order = sequence(image, options);
        long[] sequence = order.pages();
        int n = sequence.length;
        int threads = Math.max(1, options.threads());
        ExecutorService pool = Executors.newFixedThreadPool(threads, Thread.ofPlatform().daemon().name("sabre-pack-", 0).factory());
        try {
            // 1. Classify: zero or not, and a content hash for deduplication.
            boolean[] zero = new boolean[n];
            long[] hash = new long[n];
            classify(image, sequence, zero, hash, pool, threads, report);
            long classified = System.nanoTime();

            // 2. Deduplicate and lay out frames: kind per sequence index; ref = frame<<32|slot or source page.
            byte[] kind = new byte[n];
            long[] ref = new long[n];
            LongLongMap indexOfPage = new LongLongMap(n);
            for (int i = 0; i < n; i++) {
                indexOfPage.put(sequence[i], i);
            }
            List<int[]> frames = layout(image, sequence, zero, hash, kind, ref, indexOfPage, policy, bound, options.dedup());

            // 3. Compress and write the frames in order, a bounded window of them in flight.
            SnapshotHeader header = new SnapshotHeader(SnapshotFormat.VERSION_CURRENT, pageSize, image.memorySize(), codecId,
                    level, bound, policy, ThreadLocalRandom.current().nextLong(), ThreadLocalRandom.current().nextLong());
            try (SnapshotWriter writer = new SnapshotWriter(out, header, frames.size())) {
                writeFrames(image, sequence, kind, frames, writer, codecId, level, options.rawLiterals(), pool, threads, report);
                long compressed = System.nanoTime();
                writer.finish(extents(sequence, kind, ref, indexOfPage), prefetchRuns(order));
                try (SnapshotReader check = SnapshotReader.open(out)) {
                    return new Result(check.stats(), check.header(), classified - start, compressed - classified,
                            System.nanoTime() - start);
                }
            }
        } catch (InternalError e) {
            // The JVM turns a SIGBUS on the mapped input into this when the file shrank under us.
            long now = sizeNow(image.path());
            if (now >= image.memorySize()) {
                throw e;
            }
            throw new IOException((now < 0 ? "%s disappeared while it was being packed (it held %d bytes of memory when opened)"
                    : "%s changed while it was being packed (it held %d bytes of memory when opened, it is now " + now + " bytes)")
                    .formatted(image.path(), image.memorySize()) + "; nothing was written", e);
        } finally {
            shutdownAndWait(pool);
        }
    }

    /** The file's size now, or -1 if it cannot be read (gone). */
    private static long sizeNow(Path path) {
        try {
            return Files.size(path);
        } catch (IOException e) {
            return -1;
        }
    }

    /** The pages to pack in data order; the first {@code listed} are the prefetch order. */
    private record Sequence(long[] pages, int listed) {
    }

    /** The pages to pack, in the order their data is laid out (which is also the prefetch order). */
    private static Sequence sequence(MemoryImage image, PackOptions options) {
        long pageCount = image.pageCount();
        List<PageRun> order = options.pages() != null ? options.pages() : options.prefetch();
        if (order == null) {
            long total = image.presentPages();
            if (total > MAX_PAGES) {
                throw new IllegalArgumentException("more than 2^29 present pages (2 TiB of 4 KiB pages); use a larger page size");
            }
            long[] seq = new long[(int) total];
            int i = 0;
            for (PageRun run : image.present()) {
                for (long p = run.firstPage(); p < run.endPage(); p++) {
                    seq[i++] = p;
                }
            }
            return new Sequence(seq, 0);
        }
        if (pageCount > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("page lists are supported for memories of up to 2^31 pages");
        }
        BitSet seen = new BitSet((int) pageCount);
        BitSet present = new BitSet((int) pageCount);
        for (PageRun run : image.present()) {
            present.set((int) run.firstPage(), (int) run.endPage());
        }
        long[] seq = new long[16];
        int i = 0;
        for (PageRun run : order) {
            if (run.firstPage() < 0 || run.pageCount() <= 0 || run.endPage() > pageCount) {
                throw new IllegalArgumentException("page list: pages %d..%d are outside the memory's %d pages"
                        .formatted(run.firstPage(), run.endPage() - 1, pageCount));
            }
            for (long p = run.firstPage(); p < run.endPage(); p++) {
                if (!present.get((int) p)) {
                    throw new IllegalArgumentException("page list: page %d is not present in %s (a hole of the sparse file)"
                            .formatted(p, image.path()));
                }
                if (!seen.get((int) p)) {
                    seen.set((int) p);
                    if (i == MAX_PAGES) {
                        throw new IllegalArgumentException("page list: more than 2^29 pages");
                    }
                    if (i == seq.length) {
                        seq = Arrays.copyOf(seq, seq.length * 2);
                    }
                    seq[i++] = p;
                }
            }
        }
        int listed = i;
        if (options.pages() == null) {
            // A prefetch order over a full snapshot: the listed pages first, then the rest in page order.
            for (PageRun run : image.present()) {
                for (long p = run.firstPage(); p < run.endPage(); p++) {
                    if (!seen.get((int) p)) {
                        if (i == seq.length) {
                            seq = Arrays.copyOf(seq, seq.length * 2);
                        }
                        seq[i++] = p;
                    }
                }
            }
        }
        return new Sequence(Arrays.copyOf(seq, i), listed);
    }

    private static void classify(MemoryImage image, long[] sequence, boolean[] zero, long[] hash, ExecutorService pool,
                                 int threads, Progress progress) throws IOException {
        int n = sequence.length;
        int pageSize = image.pageSize();
        MemorySegment zeroPage = Arena.global().allocate(pageSize);
        int chunk = 4096;
        AtomicLong done = new AtomicLong();
        long totalBytes = (long) n * pageSize;
        List<Future<?>> futures = new ArrayList<>();
        for (int from = 0; from < n; from += chunk) {
            int lo = from;
            int hi = Math.min(n, from + chunk);
            futures.add(pool.submit(() -> {
                for (int i = lo; i < hi; i++) {
                    if (!image.hasData(sequence[i])) {
                        zero[i] = true; // a hole: zeros, and never read
                        continue;
                    }
                    MemorySegment page = image.page(sequence[i]);
                    if (page.mismatch(zeroPage) == -1) {
                        zero[i] = true;
                    } else {
                        hash[i] = hash(page);
                    }
                }
                progress.update("classify", done.addAndGet((long) (hi - lo) * pageSize), totalBytes);
                return null;
            }));
        }
        for (Future<?> f : futures) {
            await(f);
        }
    }

    /** A 64-bit content hash; collisions are harmless because duplicates are confirmed byte by byte. */
    static long hash(MemorySegment page) {
        long h = 0x9E3779B97F4A7C15L;
        long size = page.byteSize();
        for (long at = 0; at < size; at += 8) {
            h = Long.rotateLeft(h ^ page.get(LONG, at), 29) * 0xBF58476D1CE4E5B9L;
        }
        return h ^ (h >>> 31);
    }

    /** Fills kind/ref for every sequence index and returns the frames as {first stored index, count} pairs. */
    private static List<int[]> layout(MemoryImage image, long[] sequence, boolean[] zero, long[] hash, byte[] kind,
                                      long[] ref, LongLongMap indexOfPage, PackPolicy policy, int bound, boolean dedup) {
        int n = sequence.length;
        LongLongMap firstWithHash = new LongLongMap(dedup ? n : 0);
        List<int[]> frames = new ArrayList<>();
        boolean contiguousFrames = policy == PackPolicy.PARTITION || policy == PackPolicy.PASSTHROUGH;
        int frame = -1;
        int slot = 0;
        long previousPage = -2;
        for (int i = 0; i < n; i++) {
            if (zero[i]) {
                kind[i] = ZERO;
                continue;
            }
            if (dedup) {
                long original = firstWithHash.get(hash[i]);
                if (original >= 0 && image.page(sequence[(int) original]).mismatch(image.page(sequence[i])) == -1) {
                    kind[i] = COPY;
                    ref[i] = sequence[(int) original];
                    continue;
                }
                if (original < 0) {
                    firstWithHash.put(hash[i], i);
                }
            }
            boolean newFrame = frame < 0 || slot == bound || (contiguousFrames && sequence[i] != previousPage + 1);
            if (newFrame) {
                frames.add(new int[] {i, 0});
                frame++;
                slot = 0;
            }
            kind[i] = STORED;
            ref[i] = ((long) frame << 32) | slot;
            frames.getLast()[1]++;
            slot++;
            previousPage = sequence[i];
        }
        return frames;
    }

    private record Stored(MemorySegment bytes, int pages, boolean compressed) {
    }

    private static void writeFrames(MemoryImage image, long[] sequence, byte[] kind, List<int[]> frames, SnapshotWriter writer,
                                    CodecId codecId, int level, boolean rawLiterals, ExecutorService pool, int threads,
                                    Progress progress) throws IOException {
        int pageSize = image.pageSize();
        ThreadLocal<Codec> codecs = Codecs.threadLocal(() -> {
            Codec codec = Codecs.create(codecId, level);
            return rawLiterals ? codec.withRawLiterals() : codec;
        });
        long total = frames.stream().mapToLong(f -> (long) f[1] * pageSize).sum();
        AtomicLong done = new AtomicLong();
        ArrayDeque<Future<Stored>> window = new ArrayDeque<>();
        // A bounded window: a few frames per thread, but never more than about 1 GiB of raw frames.
        long largest = frames.stream().mapToLong(f -> (long) f[1] * pageSize).max().orElse(1);
        int maxInFlight = (int) Math.max(threads, Math.min(threads * 4L, (1L << 30) / Math.max(1, largest)));
        for (int[] frame : frames) {
            int first = frame[0];
            int pages = frame[1];
            window.add(pool.submit(() -> {
                // Gather the frame's pages (contiguous in the sequence, skipping zero and copy pages).
                long rawBytes = (long) pages * pageSize;
                MemorySegment raw = MemorySegment.ofArray(new byte[(int) rawBytes]);
                int slot = 0;
                for (int i = first; slot < pages; i++) {
                    if (kind[i] == STORED) {
                        MemorySegment.copy(image.page(sequence[i]), 0, raw, (long) slot * pageSize, pageSize);
                        slot++;
                    }
                }
                Stored stored = compress(codecs.get(), raw, pages);
                progress.update("compress", done.addAndGet(rawBytes), total);
                return stored;
            }));
            if (window.size() >= maxInFlight) {
                write(writer, window.poll());
            }
        }
        while (!window.isEmpty()) {
            write(writer, window.poll());
        }
    }

    private static Stored compress(Codec codec, MemorySegment raw, int pages) {
        if (codec.id() == CodecId.NONE) {
            return new Stored(raw, pages, false);
        }
        long rawBytes = raw.byteSize();
        byte[] out = new byte[codec.maxCompressedLength((int) rawBytes)];
        int length = codec.compress(raw, MemorySegment.ofArray(out));
        // Compression that saves less than 1/32 costs more at restore than it saves in reading.
        if (length >= rawBytes - rawBytes / 32) {
            return new Stored(raw, pages, false);
        }
        return new Stored(MemorySegment.ofArray(Arrays.copyOf(out, length)), pages, true);
    }

    private static void write(SnapshotWriter writer, Future<Stored> future) throws IOException {
        Stored stored = await(future);
        writer.addFrame(stored.bytes(), stored.pages(), stored.compressed());
    }

    /** Builds the page map: pages sorted, consecutive pages of one kind (and consecutive refs) merged. */
    private static List<Extent> extents(long[] sequence, byte[] kind, long[] ref, LongLongMap indexOfPage) {
        long[] pages = sequence.clone();
        Arrays.sort(pages);
        List<Extent> extents = new ArrayList<>();
        long runFirst = -1;
        int runCount = 0;
        byte runKind = 0;
        long runRef = 0;
        for (long page : pages) {
            int i = (int) indexOfPage.get(page);
            byte k = kind[i];
            long r = ref[i];
            boolean extend = runCount > 0 && runCount < Integer.MAX_VALUE && k == runKind && page == runFirst + runCount
                    && switch (k) {
                        case ZERO -> true;
                        case STORED -> r == runRef + runCount; // same frame, next slot
                        default -> r == runRef + runCount
                                && storedRef(r, kind, ref, indexOfPage) == storedRef(runRef, kind, ref, indexOfPage) + runCount;
                    };
            if (extend) {
                runCount++;
                continue;
            }
            if (runCount > 0) {
                extents.add(extent(runFirst, runCount, runKind, runRef));
            }
            runFirst = page;
            runCount = 1;
            runKind = k;
            runRef = r;
        }
        if (runCount > 0) {
            extents.add(extent(runFirst, runCount, runKind, runRef));
        }
        return extents;
    }

    private static long storedRef(long page, byte[] kind, long[] ref, LongLongMap indexOfPage) {
        return ref[(int) indexOfPage.get(page)];
    }

    private static Extent extent(long first, int count, byte kind, long ref) {
        return switch (kind) {
            case ZERO -> Extent.zero(first, count);
            case STORED -> Extent.stored(first, count, (int) (ref >>> 32), (int) ref);
            default -> Extent.copy(first, count, ref);
        };
    }

    private static List<PageRun> prefetchRuns(Sequence order) {
        List<PageRun> runs = new ArrayList<>();
        for (int i = 0; i < order.listed(); i++) {
            long p = order.pages()[i];
            if (!runs.isEmpty() && runs.getLast().endPage() == p && runs.getLast().pageCount() < Integer.MAX_VALUE) {
                PageRun last = runs.removeLast();
                runs.add(new PageRun(last.firstPage(), last.pageCount() + 1));
            } else {
                runs.add(new PageRun(p, 1));
            }
        }
        return runs;
    }

    /**
     * Stops a pool and waits for its tasks, so no task touches a buffer or file after an early error.
     * Tasks are not interrupted: an interrupt during a FileChannel read closes the channel for good.
     */
    private static void shutdownAndWait(ExecutorService pool) {
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

    private static <T> T await(Future<T> future) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
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
}
