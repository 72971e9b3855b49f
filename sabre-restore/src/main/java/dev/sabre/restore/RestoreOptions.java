package dev.sabre.restore;

/**
 * How to run a restore.
 *
 * @param threads        reading and decompressing threads; with O_DIRECT they also keep several reads in
 *                       flight, so more threads than cores pay off on cold storage
 * @param installThreads threads issuing UFFDIO_COPY / ZEROPAGE; installing already overlaps with decoding,
 *                       and one installer is usually fastest (concurrent installs into one process contend
 *                       in the kernel)
 * @param directIo       read with O_DIRECT (cold storage) instead of through the page cache
 * @param chunkBytes     consecutive frames are read with one pread of up to this many stored bytes
 * @param zeroPages      also install the snapshot's all-zero pages (UFFDIO_ZEROPAGE), after the data
 */
public record RestoreOptions(int threads, int installThreads, boolean directIo, long chunkBytes, boolean zeroPages) {

    public RestoreOptions {
        if (threads <= 0 || installThreads <= 0) {
            throw new IllegalArgumentException("thread counts must be positive: " + threads + ", " + installThreads);
        }
        if (chunkBytes < 4096) {
            throw new IllegalArgumentException("chunk size must be at least one page: " + chunkBytes);
        }
    }

    /**
     * Two decoding threads and one installer per core, 256 KiB reads (so a chunk's decoded pages are still
     * in the CPU cache when they are installed), through the page cache, zero pages included.
     */
    public static RestoreOptions defaults() {
        int cores = Runtime.getRuntime().availableProcessors();
        return new RestoreOptions(2 * cores, cores, false, 256 << 10, true);
    }

    public RestoreOptions withThreads(int threads) {
        return new RestoreOptions(threads, installThreads, directIo, chunkBytes, zeroPages);
    }

    public RestoreOptions withInstallThreads(int installThreads) {
        return new RestoreOptions(threads, installThreads, directIo, chunkBytes, zeroPages);
    }

    public RestoreOptions withDirectIo(boolean directIo) {
        return new RestoreOptions(threads, installThreads, directIo, chunkBytes, zeroPages);
    }

    public RestoreOptions withChunkBytes(long chunkBytes) {
        return new RestoreOptions(threads, installThreads, directIo, chunkBytes, zeroPages);
    }

    public RestoreOptions withZeroPages(boolean zeroPages) {
        return new RestoreOptions(threads, installThreads, directIo, chunkBytes, zeroPages);
    }
}
