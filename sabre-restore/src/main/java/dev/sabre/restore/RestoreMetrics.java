package dev.sabre.restore;

import java.util.Locale;

/**
 * Where a restore's time went, broken down like the original restorator's log ("map", "read partition
 * info", "read snapshot", "decompress", "install pages", "total", all in µs). The original ran on one
 * thread; here map, read, decompress and install are summed over the worker threads (CPU-side cost), while
 * {@code totalUs} is wall-clock time from start to the last page installed.
 */
public record RestoreMetrics(long mapUs, long readInfoUs, long readUs, long decompressUs, long installUs,
                             long totalUs, long bytesRead, long bytesInstalled, long frames, int threads,
                             boolean directIo) {

    /** The same metrics with the time spent opening and validating the snapshot's metadata. */
    public RestoreMetrics withReadInfoUs(long us) {
        return new RestoreMetrics(mapUs, us, readUs, decompressUs, installUs, totalUs + us, bytesRead,
                bytesInstalled, frames, threads, directIo);
    }

    /** One line for logs, in the original's order. */
    public String toLine() {
        return String.format(Locale.ROOT,
                "map %d us, read partition info %d us, read snapshot %d us, decompress %d us, install %d us, "
                        + "total %d us (%d frames, %.1f MiB read%s, %.1f MiB installed, %d threads)",
                mapUs, readInfoUs, readUs, decompressUs, installUs, totalUs, frames, bytesRead / 1048576.0,
                directIo ? " with O_DIRECT" : "", bytesInstalled / 1048576.0, threads);
    }

    public String toJson() {
        return String.format(Locale.ROOT,
                "{\"map_us\":%d,\"read_partition_info_us\":%d,\"read_snapshot_us\":%d,\"decompress_us\":%d,"
                        + "\"install_us\":%d,\"total_us\":%d,\"bytes_read\":%d,\"bytes_installed\":%d,"
                        + "\"frames\":%d,\"threads\":%d,\"direct_io\":%b}",
                mapUs, readInfoUs, readUs, decompressUs, installUs, totalUs, bytesRead, bytesInstalled, frames,
                threads, directIo);
    }
}
