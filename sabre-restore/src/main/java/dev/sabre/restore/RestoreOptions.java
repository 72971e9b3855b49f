package dev.sabre.restore;

/**
 * How to run a restore.
 *
 * @param threads    how many chunks may be decoded and installed at once, i.e. the cores the restore may
 *                   use (0: all of them). With O_DIRECT there are twice as many workers, so while some
 *                   wait for storage the others compute, and reading never costs a core
 * @param directIo   read with O_DIRECT (cold storage) instead of through the page cache
 * @param chunkBytes consecutive frames are read with one pread of up to this many stored bytes
 * @param zeroPages  also install the snapshot's all-zero pages (UFFDIO_ZEROPAGE), after the data
 * @param overlapReads with O_DIRECT, run the extra workers that keep reads in flight (off: exactly
 *                   {@code threads} workers, each reading then computing, like the original restorator)
 */
public record RestoreOptions(int threads, boolean directIo, long chunkBytes, boolean zeroPages, boolean overlapReads) {

    public RestoreOptions {
        if (threads < 0) {
            throw new IllegalArgumentException("thread count must be positive (or 0 for automatic): " + threads);
        }
        if (chunkBytes < 4096) {
            throw new IllegalArgumentException("chunk size must be at least one page: " + chunkBytes);
        }
    }

    /**
     * Automatic thread count, 256 KiB reads (so a chunk's decoded pages are still in the CPU's L2 cache when
     * the same thread installs them), through the page cache, zero pages included.
     */
    public static RestoreOptions defaults() {
        return new RestoreOptions(0, false, 256 << 10, true, true);
    }

    /** How many workers may compute (check, decode, install) at once. */
    public int cpuWorkers() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** The number of worker threads this restore runs: twice {@link #cpuWorkers} with O_DIRECT. */
    public int workers() {
        return directIo && overlapReads ? 2 * cpuWorkers() : cpuWorkers();
    }

    public RestoreOptions withThreads(int threads) {
        return new RestoreOptions(threads, directIo, chunkBytes, zeroPages, overlapReads);
    }

    public RestoreOptions withDirectIo(boolean directIo) {
        return new RestoreOptions(threads, directIo, chunkBytes, zeroPages, overlapReads);
    }

    public RestoreOptions withChunkBytes(long chunkBytes) {
        return new RestoreOptions(threads, directIo, chunkBytes, zeroPages, overlapReads);
    }

    public RestoreOptions withZeroPages(boolean zeroPages) {
        return new RestoreOptions(threads, directIo, chunkBytes, zeroPages, overlapReads);
    }

    public RestoreOptions withOverlapReads(boolean overlapReads) {
        return new RestoreOptions(threads, directIo, chunkBytes, zeroPages, overlapReads);
    }
}
