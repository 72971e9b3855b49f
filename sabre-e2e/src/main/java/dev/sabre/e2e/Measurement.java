package dev.sabre.e2e;

/**
 * One cold start: a function restored with a strategy, as vHive reports it (VM restore latency, first
 * invocation, total, in µs), with the bytes on disk the strategy reads and what the handler did.
 *
 * @param pageSize      page size of the guest memory in bytes: 4096, or 2 MiB on hugetlb pages
 * @param repetition    1-based
 * @param snapshotBytes bytes on disk of the guest memory the strategy reads (raw memory file or .sabre)
 * @param wsBytes       bytes on disk of the working set it prefetches (0 when none)
 * @param pageCache     {@code cold} when page caches were dropped before the restore, else {@code warm}
 * @param faults        page faults the handler served (-1 without a handler)
 * @param handlerBytesRead bytes the handler read from disk or page cache (-1 without a handler)
 * @param installedBytes bytes the handler installed into the guest memory, what the VM ends up with (-1 without a handler)
 * @param prefetchMicros wall time of the handler's prefetch or eager restore (-1 when none ran)
 * @param reply         the first invocation's reply (checked against the one before the snapshot)
 */
public record Measurement(String function, String vmm, String strategy, long pageSize, int repetition,
                          long restoreMicros, long coldStartMicros, long snapshotBytes, long wsBytes, String pageCache,
                          long faults, long handlerBytesRead, long installedBytes, long prefetchMicros, String reply) {
    public long totalMicros() {
        return restoreMicros + coldStartMicros;
    }

    /** The page size as people write it: {@code 4K} or {@code 2M}. */
    public String pageSizeLabel() {
        return pageLabel(pageSize);
    }

    static String pageLabel(long bytes) {
        return bytes >= 1 << 20 ? (bytes >> 20) + "M" : (bytes >> 10) + "K";
    }
}
