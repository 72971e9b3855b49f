package dev.sabre.restore;

import dev.sabre.format.Progress;
import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.Memory;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * Restores a whole snapshot through an {@link Installer} with a few worker threads, from a .sabre file or
 * any other {@link FrameSource} (a snapshot in a store). Each worker claims the next chunk of frames, reads
 * it with one call (a pread, O_DIRECT or page cache; a ranged request), checks every frame's checksum before
 * decoding any (so corrupt bytes never reach guest memory), decompresses the chunk into its own buffer and
 * installs the chunk's merged runs itself while the decoded pages are still in its core's cache. Workers
 * overlap one another's reading, decompressing and installing, with no hand-off between threads. At most
 * {@link RestoreOptions#cpuWorkers} of them compute at once; with O_DIRECT there are twice as many
 * workers, and a worker waits for storage without holding a compute permit, so reads stay in flight
 * while others decode but the restore never takes more cores than it was given (a handler restoring
 * under a running guest leaves the guest its core). A page-fault handler runs it in the background and
 * calls {@link #prioritize} so the chunk holding a faulting page is taken next.
 *
 * <p>Memory is bounded whatever the compression ratio: a chunk decodes to at most
 * {@link RestorePlan#MAX_CHUNK_RAW_BYTES} or one frame, and decode buffers belong to the compute permits,
 * not the workers. With T permits and F the largest frame, the buffers hold at most
 * T x (max(F, 8 MiB) + max(F, chunk size)), plus T x max(F, chunk size) for the extra O_DIRECT readers
 * (docs/handler.md states the bound for the handler).
 */
public final class RestoreEngine implements BackgroundRestore {
    private final FrameSource source;
    private final Installer installer;
    private final RestoreOptions options;
    private final RestorePlan plan;
    private final int workers;
    private final WorkQueue queue;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final LongAdder mapNanos = new LongAdder();
    private final LongAdder readNanos = new LongAdder();
    private final LongAdder decodeNanos = new LongAdder();
    private final LongAdder installNanos = new LongAdder();
    private final LongAdder installed = new LongAdder();
    private final CompletableFuture<RestoreMetrics> completion = new CompletableFuture<>();
    /** Permits to compute: reading with O_DIRECT happens outside them. */
    private final Semaphore compute;
    /** Decode buffers, one per compute permit at most: taken with a permit, given back before releasing it. */
    private final ConcurrentLinkedQueue<MemorySegment> rawBuffers = new ConcurrentLinkedQueue<>();
    private final Progress progress;
    private final AtomicLong decoded = new AtomicLong();
    private final long startNanos;
    private volatile boolean cancelled;

    private RestoreEngine(FrameSource source, Installer installer, RestoreOptions options, Progress progress) {
        this.startNanos = System.nanoTime();
        this.progress = progress;
        this.source = source;
        this.installer = installer;
        this.options = options;
        this.plan = source.plan();
        int tasks = plan.chunks().size() + (options.zeroPages() ? plan.zeroRuns().size() : 0);
        this.queue = new WorkQueue(tasks);
        this.workers = Math.max(1, Math.min(source.workers(options), Math.max(1, plan.chunks().size())));
        this.compute = new Semaphore(options.cpuWorkers());
    }

    /** Starts restoring every present page of {@code reader} in the background; see {@link #completion}. */
    public static RestoreEngine start(SnapshotReader reader, Installer installer, RestoreOptions options)
            throws IOException {
        return start(reader, installer, options, Progress.NONE);
    }

    /** As {@link #start(SnapshotReader, Installer, RestoreOptions)}, telling {@code progress} the raw bytes decoded (phase "decode"). */
    public static RestoreEngine start(SnapshotReader reader, Installer installer, RestoreOptions options,
                                      Progress progress) throws IOException {
        return start(SnapshotFrames.open(reader, options), installer, options, progress);
    }

    /**
     * Starts restoring what {@code source} plans in the background; the engine closes {@code source} when it
     * ends. Of {@code options}, the source has used what concerns reading; the engine uses the threads and
     * whether zero pages are installed.
     */
    public static RestoreEngine start(FrameSource source, Installer installer, RestoreOptions options,
                                      Progress progress) {
        RestoreEngine engine = new RestoreEngine(source, installer, options, progress);
        engine.queue.startWorkers("sabre-restore-", engine.workers, engine::work, engine.failure, engine::finishSafely);
        return engine;
    }

    /** Restores {@code snapshot} and waits; the metrics include opening and validating the snapshot. */
    public static RestoreMetrics restore(Path snapshot, Installer installer, RestoreOptions options) throws IOException {
        long t0 = System.nanoTime();
        try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
            long readInfo = (System.nanoTime() - t0) / 1000;
            try (RestoreEngine engine = start(reader, installer, options)) {
                return engine.await().withReadInfoUs(readInfo);
            }
        }
    }

    /**
     * Checks every frame's checksum and decodes it with {@code options}' threads, installing nothing:
     * proves the whole file readable. Returns the number of frames checked.
     */
    public static long verify(SnapshotReader reader, RestoreOptions options, Progress progress) throws IOException {
        try (RestoreEngine engine = start(reader, DISCARD, options.withZeroPages(false), progress)) {
            engine.await();
        }
        return reader.frames().size();
    }

    /** Takes decoded pages and keeps nothing: what {@link #verify} installs into. */
    private static final Installer DISCARD = new Installer() {
        @Override
        public long copy(long offset, MemorySegment data) {
            return data.byteSize();
        }

        @Override
        public long zero(long offset, long length) {
            return length;
        }
    };

    public RestorePlan plan() {
        return plan;
    }

    /** Completes with the metrics when every page is installed, or exceptionally with the first error. */
    public CompletableFuture<RestoreMetrics> completion() {
        return completion;
    }

    public boolean isDone() {
        return completion.isDone();
    }

    /** Waits for the end and returns the metrics, or throws the first error. */
    public RestoreMetrics await() throws IOException {
        try {
            return completion.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the restore", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getCause().getMessage(), e.getCause());
        }
    }

    /** Makes the chunk holding {@code page} the next one taken, if no worker has taken it yet. */
    public void prioritize(long page) {
        int chunk = plan.chunkOfFrame(source.frameOf(page));
        if (chunk >= 0) {
            queue.prioritize(chunk);
        }
    }

    /**
     * Whether this restore installs page {@code page} (or has installed it): the page lies in a planned chunk. Its
     * install wakes a thread faulting on it, so a page-fault handler may leave such a fault to the restore.
     */
    public boolean covers(long page) {
        return plan.chunkOfFrame(source.frameOf(page)) >= 0;
    }

    /** Bytes installed so far. */
    public long bytesInstalled() {
        return installed.sum();
    }

    /** Stops the workers after the chunks in hand; {@link #completion} then fails as cancelled. */
    public void cancel() {
        cancelled = true;
    }

    /** Cancels if still running and waits for every worker to finish. */
    @Override
    public void close() {
        cancel();
        try {
            completion.handle((m, e) -> null).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException ignored) {
            // handled above
        }
    }

    private boolean running() {
        return !cancelled && failure.get() == null;
    }

    private void work() {
        MemorySegment stored = null;
        try {
            long t0 = System.nanoTime();
            // Straight from mmap: page-aligned for O_DIRECT, and not zero-filled by the JVM first.
            stored = Memory.mapAnonymous(source.readBufferBytes());
            mapNanos.add(System.nanoTime() - t0);
            long pageSize = source.pageSize();
            int task;
            while (running() && (task = queue.next()) >= 0) {
                if (task >= plan.chunks().size()) {
                    RestorePlan.Run zero = plan.zeroRuns().get(task - plan.chunks().size());
                    compute.acquireUninterruptibly();
                    try {
                        long t1 = System.nanoTime();
                        installed.add(installer.zero(zero.firstPage() * pageSize, zero.pages() * pageSize));
                        installNanos.add(System.nanoTime() - t1);
                    } finally {
                        compute.release();
                    }
                    continue;
                }
                RestorePlan.Chunk chunk = plan.chunks().get(task);
                MemorySegment bytes = source.readsWait() ? read(chunk, stored) : null;
                compute.acquireUninterruptibly();
                MemorySegment raw = null;
                try {
                    raw = rawBuffer();
                    MemorySegment data = decode(chunk, bytes != null ? bytes : read(chunk, stored), raw);
                    long t1 = System.nanoTime();
                    for (RestorePlan.Run run : chunk.runs()) {
                        installed.add(installer.copy(run.firstPage() * pageSize,
                                data.asSlice(run.rawOffset(), run.pages() * pageSize)));
                    }
                    installNanos.add(System.nanoTime() - t1);
                } finally {
                    if (raw != null) {
                        rawBuffers.add(raw);
                    }
                    compute.release();
                }
                // Told once a chunk, not once a frame: a counter shared by every core is a contended cache line.
                progress.update("decode", decoded.addAndGet(chunk.rawBytes()), plan.rawBytes());
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        } finally {
            unmap(stored);
        }
    }

    /** A decode buffer for the permit this worker holds: mapped on first use, touched only as far as a chunk decodes. */
    private MemorySegment rawBuffer() throws IOException {
        MemorySegment raw = rawBuffers.poll();
        if (raw != null) {
            return raw;
        }
        long t0 = System.nanoTime();
        raw = Memory.mapAnonymous(Math.max(4096, plan.maxRawBytes()));
        mapNanos.add(System.nanoTime() - t0);
        return raw;
    }

    /** The last worker to stop completes the restore, whatever happens while doing so. */
    private void finishSafely() {
        try {
            finish();
        } catch (Throwable t) {
            completion.completeExceptionally(t);
        }
    }

    private static void unmap(MemorySegment segment) {
        if (segment != null) {
            try {
                Memory.munmap(segment);
            } catch (IOException e) {
                // nothing to do: the address range stays reserved until exit
            }
        }
    }

    /** Reads a chunk's stored bytes into {@code buffer}. */
    private MemorySegment read(RestorePlan.Chunk chunk, MemorySegment buffer) throws IOException {
        long t0 = System.nanoTime();
        MemorySegment stored = source.read(chunk, buffer);
        readNanos.add(System.nanoTime() - t0);
        return stored;
    }

    /** Checks a chunk's frames, then decodes them; returns its decoded pages (the stored bytes if all raw). */
    private MemorySegment decode(RestorePlan.Chunk chunk, MemorySegment stored, MemorySegment rawBuffer)
            throws IOException {
        long t1 = System.nanoTime();
        boolean allRaw = true;
        long pos = 0;
        // Check every frame before decoding or installing any: corrupt bytes must never reach the guest.
        for (int f = chunk.firstFrame(); f < chunk.firstFrame() + chunk.frameCount(); f++) {
            source.checkFrame(f, stored.asSlice(pos, source.storedLength(f)));
            allRaw &= !source.compressed(f);
            pos += source.storedLength(f);
        }
        if (allRaw) {
            decodeNanos.add(System.nanoTime() - t1);
            return stored;
        }
        pos = 0;
        long rawPos = 0;
        for (int f = chunk.firstFrame(); f < chunk.firstFrame() + chunk.frameCount(); f++) {
            MemorySegment frameStored = stored.asSlice(pos, source.storedLength(f));
            MemorySegment raw = rawBuffer.asSlice(rawPos, source.frameBytes(f));
            if (source.compressed(f)) {
                source.decodeFrame(f, frameStored, raw);
            } else {
                Memory.copy(frameStored, raw);
            }
            pos += source.storedLength(f);
            rawPos += source.frameBytes(f);
        }
        decodeNanos.add(System.nanoTime() - t1);
        return rawBuffer;
    }

    private void finish() {
        source.close();
        MemorySegment raw;
        while ((raw = rawBuffers.poll()) != null) {
            unmap(raw);
        }
        Throwable t = failure.get();
        if (t != null) {
            completion.completeExceptionally(t);
        } else if (cancelled && !queue.allTaken()) {
            completion.completeExceptionally(new IOException("restore of " + source.name() + " cancelled"));
        } else {
            completion.complete(new RestoreMetrics(mapNanos.sum() / 1000, 0, readNanos.sum() / 1000,
                    decodeNanos.sum() / 1000, installNanos.sum() / 1000, (System.nanoTime() - startNanos) / 1000,
                    source.bytesRead(), installed.sum(), plannedFrames(), workers, source.directIo()));
        }
    }


    private long plannedFrames() {
        return plan.chunks().stream().mapToLong(RestorePlan.Chunk::frameCount).sum();
    }
}
