package dev.sabre.restore;

import dev.sabre.format.FrameInfo;
import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.Memory;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * Restores a whole snapshot through an {@link Installer} as a pipeline. Decoder threads claim the next
 * chunk of frames, read it with one pread (O_DIRECT or page cache), check every frame's CRC32C before
 * decoding it (so corrupt bytes never reach guest memory) and decompress it into a buffer from a small
 * pool; installer threads take decoded chunks and install their merged runs. Reading, decompressing and
 * installing different chunks thus overlap, with as many reads in flight as decoders waiting on storage,
 * while buffers returned by the installers bound the memory in use. A page-fault handler can run it in the
 * background while the guest runs and call {@link #prioritize} so the chunk holding a faulting page is
 * decoded next.
 */
public final class RestoreEngine implements AutoCloseable {
    /** A read buffer and a decode buffer, handed from a decoder to an installer and back to the pool. */
    private record Buffers(MemorySegment stored, MemorySegment raw) {}

    /** Work for an installer: a decoded chunk, a zero run, or (all null) the end of the stream. */
    private record Ready(RestorePlan.Chunk chunk, MemorySegment data, Buffers buffers, RestorePlan.Run zero) {}

    private static final Ready END = new Ready(null, null, null, null);

    private final SnapshotReader reader;
    private final Installer installer;
    private final RestoreOptions options;
    private final RestorePlan plan;
    private final AtomicIntegerArray claimed;
    private final AtomicInteger cursor = new AtomicInteger();
    private final ConcurrentLinkedDeque<Integer> urgent = new ConcurrentLinkedDeque<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final LongAdder readNanos = new LongAdder();
    private final LongAdder decodeNanos = new LongAdder();
    private final LongAdder installNanos = new LongAdder();
    private final LongAdder installed = new LongAdder();
    private final CompletableFuture<RestoreMetrics> completion = new CompletableFuture<>();
    private final BlockingQueue<Buffers> pool = new LinkedBlockingQueue<>();
    private final List<Buffers> allBuffers = new ArrayList<>();
    private final BlockingQueue<Ready> ready = new LinkedBlockingQueue<>();
    private final AtomicInteger decoders;
    private final AtomicInteger installers;
    private final long startNanos;
    private volatile boolean cancelled;
    private StorageFile storage;
    private long mapNanos;

    private RestoreEngine(SnapshotReader reader, Installer installer, RestoreOptions options) {
        this.startNanos = System.nanoTime();
        this.reader = reader;
        this.installer = installer;
        this.options = options;
        this.plan = RestorePlan.of(reader, options.chunkBytes());
        int tasks = plan.chunks().size() + (options.zeroPages() ? plan.zeroRuns().size() : 0);
        this.claimed = new AtomicIntegerArray(tasks);
        this.decoders = new AtomicInteger(options.threads());
        this.installers = new AtomicInteger(options.installThreads());
    }

    /** Starts restoring every present page of {@code reader} in the background; see {@link #completion}. */
    public static RestoreEngine start(SnapshotReader reader, Installer installer, RestoreOptions options)
            throws IOException {
        RestoreEngine engine = new RestoreEngine(reader, installer, options);
        try {
            engine.allocateBuffers();
            engine.storage = StorageFile.open(reader.path(), options.directIo());
        } catch (IOException | RuntimeException e) {
            engine.unmapBuffers();
            throw e;
        }
        for (int i = 0; i < options.threads(); i++) {
            Thread.ofPlatform().daemon().name("sabre-decode-" + i).start(engine::decodeLoop);
        }
        for (int i = 0; i < options.installThreads(); i++) {
            Thread.ofPlatform().daemon().name("sabre-install-" + i).start(engine::installLoop);
        }
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

    /** Makes the chunk holding {@code page} the next one decoded, if no decoder has taken it yet. */
    public void prioritize(long page) {
        if (page < 0 || page >= reader.header().pageCount()) {
            return;
        }
        int frame = reader.frameOf(page);
        if (frame >= 0) {
            int chunk = plan.chunkOfFrame(frame);
            if (claimed.get(chunk) == 0) {
                urgent.addFirst(chunk);
            }
        }
    }

    /** Bytes installed so far. */
    public long bytesInstalled() {
        return installed.sum();
    }

    /** Stops the threads after the chunks in hand; {@link #completion} then fails as cancelled. */
    public void cancel() {
        cancelled = true;
    }

    /** Cancels if still running and waits for every thread to finish. */
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

    /** Enough buffer pairs to keep every decoder and installer busy with one queued in between; mmap'd lazily. */
    private void allocateBuffers() throws LinuxException {
        long t0 = System.nanoTime();
        int count = Math.min(plan.chunks().size(), options.threads() + 2 * options.installThreads());
        for (int i = 0; i < count; i++) {
            // Straight from mmap: page-aligned for O_DIRECT, and not zero-filled by the JVM first.
            MemorySegment stored = Memory.mapAnonymous(StorageFile.bufferSizeFor(plan.maxStoredBytes()));
            MemorySegment raw;
            try {
                raw = Memory.mapAnonymous(Math.max(4096, plan.maxRawBytes()));
            } catch (LinuxException e) {
                Memory.munmap(stored);
                throw e;
            }
            Buffers buffers = new Buffers(stored, raw);
            allBuffers.add(buffers);
            pool.add(buffers);
        }
        mapNanos = System.nanoTime() - t0;
    }

    private void unmapBuffers() {
        for (Buffers b : allBuffers) {
            for (MemorySegment segment : List.of(b.stored(), b.raw())) {
                try {
                    Memory.munmap(segment);
                } catch (LinuxException e) {
                    // nothing to do: the address range stays reserved until exit
                }
            }
        }
        allBuffers.clear();
    }

    private int nextTask() {
        Integer first;
        while ((first = urgent.pollFirst()) != null) {
            if (claimed.compareAndSet(first, 0, 1)) {
                return first;
            }
        }
        int next;
        while ((next = cursor.getAndIncrement()) < claimed.length()) {
            if (claimed.compareAndSet(next, 0, 1)) {
                return next;
            }
        }
        return -1;
    }

    private void decodeLoop() {
        try {
            int task;
            while (running() && (task = nextTask()) >= 0) {
                if (task >= plan.chunks().size()) {
                    ready.add(new Ready(null, null, null, plan.zeroRuns().get(task - plan.chunks().size())));
                    continue;
                }
                Buffers buffers = pool.take();
                try {
                    if (!running()) {
                        break;
                    }
                    RestorePlan.Chunk chunk = plan.chunks().get(task);
                    ready.add(new Ready(chunk, decode(chunk, buffers), buffers, null));
                    buffers = null;
                } finally {
                    if (buffers != null) {
                        pool.add(buffers);
                    }
                }
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        } finally {
            if (decoders.decrementAndGet() == 0) {
                for (int i = 0; i < options.installThreads(); i++) {
                    ready.add(END);
                }
            }
        }
    }

    /** Reads and checks a chunk, then decodes it; returns its decoded pages (the read buffer if all raw). */
    private MemorySegment decode(RestorePlan.Chunk chunk, Buffers buffers) throws IOException {
        long t0 = System.nanoTime();
        MemorySegment stored = storage.read(chunk.fileOffset(), chunk.storedBytes(), buffers.stored());
        long t1 = System.nanoTime();
        readNanos.add(t1 - t0);
        boolean allRaw = true;
        long pos = 0;
        // Check every frame before decoding or installing any: corrupt bytes must never reach the guest.
        for (int f = chunk.firstFrame(); f < chunk.firstFrame() + chunk.frameCount(); f++) {
            FrameInfo frame = reader.frames().get(f);
            reader.checkFrame(f, stored.asSlice(pos, frame.storedLength()));
            allRaw &= !frame.compressed();
            pos += frame.storedLength();
        }
        if (allRaw) {
            decodeNanos.add(System.nanoTime() - t1);
            return stored;
        }
        pos = 0;
        long rawPos = 0;
        for (int f = chunk.firstFrame(); f < chunk.firstFrame() + chunk.frameCount(); f++) {
            FrameInfo frame = reader.frames().get(f);
            MemorySegment frameStored = stored.asSlice(pos, frame.storedLength());
            MemorySegment raw = buffers.raw().asSlice(rawPos, reader.frameBytes(f));
            if (frame.compressed()) {
                reader.decodeFrame(f, frameStored, raw);
            } else {
                Memory.copy(frameStored, raw);
            }
            pos += frame.storedLength();
            rawPos += reader.frameBytes(f);
        }
        decodeNanos.add(System.nanoTime() - t1);
        return buffers.raw();
    }

    private void installLoop() {
        try {
            long pageSize = reader.header().pageSize();
            while (true) {
                Ready work = ready.take();
                if (work == END) {
                    return;
                }
                try {
                    if (running()) {
                        long t0 = System.nanoTime();
                        if (work.zero() != null) {
                            installed.add(installer.zero(work.zero().firstPage() * pageSize, work.zero().pages() * pageSize));
                        } else {
                            for (RestorePlan.Run run : work.chunk().runs()) {
                                installed.add(installer.copy(run.firstPage() * pageSize,
                                        work.data().asSlice(run.rawOffset(), run.pages() * pageSize)));
                            }
                        }
                        installNanos.add(System.nanoTime() - t0);
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t); // keep draining, so decoders get their buffers back
                } finally {
                    if (work.buffers() != null) {
                        pool.add(work.buffers());
                    }
                }
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        } finally {
            if (installers.decrementAndGet() == 0) {
                finish();
            }
        }
    }

    private void finish() {
        storage.close();
        unmapBuffers();
        Throwable t = failure.get();
        if (t != null) {
            completion.completeExceptionally(t);
        } else if (cancelled && !allClaimed()) {
            completion.completeExceptionally(new IOException("restore of " + reader.path() + " cancelled"));
        } else {
            completion.complete(new RestoreMetrics(mapNanos / 1000, 0, readNanos.sum() / 1000,
                    decodeNanos.sum() / 1000, installNanos.sum() / 1000, (System.nanoTime() - startNanos) / 1000,
                    storage.bytesRead(), installed.sum(), reader.frames().size(),
                    options.threads() + options.installThreads(), storage.isDirect()));
        }
    }

    private boolean allClaimed() {
        for (int i = 0; i < claimed.length(); i++) {
            if (claimed.get(i) == 0) {
                return false;
            }
        }
        return true;
    }
}
