package dev.sabre.restore;

import dev.sabre.format.Extent;
import dev.sabre.format.PageRun;
import dev.sabre.format.SnapshotReader;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * Installs whole huge pages in the background, for a VMM whose memory is on 2 MiB pages: the prefetch of a
 * working set, Sabre's streamed restore and the eager restore. A few workers each take the next huge page
 * in order, assemble it from the source's pages with their own {@link HugePageStager} and install it with one
 * copy. A fault takes its huge page out of the queue ({@link #claimForFault}) and installs it itself, so no
 * huge page is read twice. Metrics: "decompress" is the time spent assembling (reading and decoding the
 * pages), "install" the copies; bytes read are the source's while the prefetch ran, faults' reads included.
 */
public final class HugePagePrefetch implements BackgroundRestore {
    private final PageSource source;
    private final Installer installer;
    private final long unitBytes;
    private final long[] units;
    private final int[] indexOfUnit;
    private final WorkQueue queue;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final LongAdder assembleNanos = new LongAdder();
    private final LongAdder installNanos = new LongAdder();
    private final LongAdder installed = new LongAdder();
    private final CompletableFuture<RestoreMetrics> completion = new CompletableFuture<>();
    private final int workers;
    private final long readAtStart;
    private final long startNanos = System.nanoTime();
    private volatile boolean cancelled;

    private HugePagePrefetch(long[] units, PageSource source, Installer installer, long unitBytes, int threads) {
        this.units = units;
        this.source = source;
        this.installer = installer;
        this.unitBytes = unitBytes;
        this.indexOfUnit = new int[Math.toIntExact(source.memorySize() / unitBytes)];
        Arrays.fill(indexOfUnit, -1);
        for (int i = 0; i < units.length; i++) {
            indexOfUnit[(int) units[i]] = i;
        }
        this.queue = new WorkQueue(units.length);
        this.workers = Math.max(1, Math.min(threads, units.length));
        this.readAtStart = source.bytesRead();
    }

    /**
     * Starts installing {@code units} (huge-page indexes, in order) assembled from {@code source} with
     * {@code options}' compute threads.
     */
    public static HugePagePrefetch start(long[] units, PageSource source, Installer installer, long unitBytes,
                                         RestoreOptions options) {
        HugePagePrefetch prefetch = new HugePagePrefetch(units, source, installer, unitBytes, options.cpuWorkers());
        prefetch.queue.startWorkers("sabre-huge-prefetch-", prefetch.workers, prefetch::work, prefetch.failure,
                prefetch::finish);
        return prefetch;
    }

    /**
     * The huge pages holding {@code reader}'s pages: those of its prefetch order first, in that order, then
     * every other huge page holding a page the snapshot has, in address order.
     */
    public static long[] unitsOf(SnapshotReader reader, long unitBytes) {
        long pagesPerUnit = unitBytes / reader.header().pageSize();
        long[] order = unitsOf(reader.prefetchOrder(), reader.header().pageSize(), unitBytes);
        int count = order.length;
        BitSet seen = new BitSet();
        for (long u : order) {
            seen.set((int) u);
        }
        BitSet rest = new BitSet();
        for (Extent e : reader.extents()) {
            rest.set((int) (e.firstPage() / pagesPerUnit), (int) ((e.endPage() - 1) / pagesPerUnit) + 1);
        }
        rest.andNot(seen);
        long[] all = Arrays.copyOf(order, count + rest.cardinality());
        for (int u = rest.nextSetBit(0); u >= 0; u = rest.nextSetBit(u + 1)) {
            all[count++] = u;
        }
        return all;
    }

    /** The huge pages holding the pages of {@code runs} (pages of {@code pageSize}), each once, in the runs' order. */
    public static long[] unitsOf(List<PageRun> runs, int pageSize, long unitBytes) {
        long pagesPerUnit = unitBytes / pageSize;
        BitSet seen = new BitSet();
        long[] order = new long[16];
        int count = 0;
        for (PageRun run : runs) {
            for (long u = run.firstPage() / pagesPerUnit; u <= (run.endPage() - 1) / pagesPerUnit; u++) {
                if (!seen.get((int) u)) {
                    seen.set((int) u);
                    order = count == order.length ? Arrays.copyOf(order, count * 2) : order;
                    order[count++] = u;
                }
            }
        }
        return Arrays.copyOf(order, count);
    }

    /** Every huge page of a memory of {@code memorySize} bytes, in address order (an eager restore). */
    public static long[] allUnits(long memorySize, long unitBytes) {
        long[] units = new long[Math.toIntExact(memorySize / unitBytes)];
        Arrays.setAll(units, i -> i);
        return units;
    }

    @Override
    public CompletableFuture<RestoreMetrics> completion() {
        return completion;
    }

    @Override
    public boolean isDone() {
        return completion.isDone();
    }

    /** Nothing to do: a fault takes its huge page for itself with {@link #claimForFault}, without waiting for a worker. */
    @Override
    public void prioritize(long page) {
    }

    /**
     * Takes huge page {@code unit} out of this prefetch for a fault that installs it itself. Returns false when
     * a worker has already taken it: then that worker's copy (which wakes every thread waiting on the huge
     * page) answers the fault, and the fault must not read it a second time.
     */
    public boolean claimForFault(long unit) {
        if (unit < 0 || unit >= indexOfUnit.length) {
            return true;
        }
        int index = indexOfUnit[(int) unit];
        return index < 0 || queue.take(index);
    }

    @Override
    public long bytesInstalled() {
        return installed.sum();
    }

    @Override
    public void close() {
        cancelled = true;
        try {
            completion.handle((m, e) -> null).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException ignored) {
            // handled above
        }
    }

    private void work() {
        try {
            HugePageStager stager = new HugePageStager(source, unitBytes);
            int index;
            while (!cancelled && failure.get() == null && (index = queue.next()) >= 0) {
                long t0 = System.nanoTime();
                MemorySegment data = stager.assemble(units[index]);
                long t1 = System.nanoTime();
                installed.add(installer.copy(units[index] * unitBytes, data));
                assembleNanos.add(t1 - t0);
                installNanos.add(System.nanoTime() - t1);
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        }
    }

    /** Run by the last worker to stop. */
    private void finish() {
        Throwable t = failure.get();
        if (t != null) {
            completion.completeExceptionally(t);
        } else if (cancelled && !queue.allTaken()) {
            completion.completeExceptionally(new IOException("huge-page prefetch cancelled"));
        } else {
            completion.complete(new RestoreMetrics(0, 0, 0, assembleNanos.sum() / 1000, installNanos.sum() / 1000,
                    (System.nanoTime() - startNanos) / 1000, source.bytesRead() - readAtStart, installed.sum(),
                    0, workers, false));
        }
    }
}
