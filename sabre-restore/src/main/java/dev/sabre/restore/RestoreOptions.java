package dev.sabre.restore;

/**
 * How to run a restore.
 *
 * @param threads    worker threads, each reading, checking, decoding and installing whole chunks; 0 picks
 *                   one per core through the page cache and two per core with O_DIRECT, where a second
 *                   thread per core keeps a read in flight while the first decodes and installs
 * @param directIo   read with O_DIRECT (cold storage) instead of through the page cache
 * @param chunkBytes consecutive frames are read with one pread of up to this many stored bytes
 * @param zeroPages  also install the snapshot's all-zero pages (UFFDIO_ZEROPAGE), after the data
 */
public record RestoreOptions(int threads, boolean directIo, long chunkBytes, boolean zeroPages) {

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
        return new RestoreOptions(0, false, 256 << 10, true);
    }

    /** The number of worker threads this restore runs. */
    public int workers() {
        if (threads > 0) {
            return threads;
        }
        int cores = Runtime.getRuntime().availableProcessors();
        return directIo ? 2 * cores : cores;
    }

    public RestoreOptions withThreads(int threads) {
        return new RestoreOptions(threads, directIo, chunkBytes, zeroPages);
    }

    public RestoreOptions withDirectIo(boolean directIo) {
        return new RestoreOptions(threads, directIo, chunkBytes, zeroPages);
    }

    public RestoreOptions withChunkBytes(long chunkBytes) {
        return new RestoreOptions(threads, directIo, chunkBytes, zeroPages);
    }

    public RestoreOptions withZeroPages(boolean zeroPages) {
        return new RestoreOptions(threads, directIo, chunkBytes, zeroPages);
    }
}
