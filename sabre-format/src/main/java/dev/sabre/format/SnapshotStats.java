package dev.sabre.format;

/**
 * Counts derived from a snapshot's page map and frame table: what `sabre inspect` reports.
 *
 * @param storedBytes bytes of frame data in the file (compressed or raw fallback)
 * @param rawFrameBytes uncompressed size of all frames (stored pages x page size)
 * @param prefetchPages distinct pages the prefetch order names (a valid order may name a page many times)
 */
public record SnapshotStats(long memoryPages, long absentPages, long zeroPages, long storedPages, long copyPages,
                            long frames, long compressedFrames, long rawFallbackFrames, long storedBytes,
                            long rawFrameBytes, long fileBytes, long prefetchPages, long extents) {

    public long presentPages() {
        return zeroPages + storedPages + copyPages;
    }
}
