package dev.sabre.restore;

import java.util.concurrent.CompletableFuture;

/**
 * A restore running in the background while the guest runs, as a page-fault handler drives it: the engine
 * for pages as the snapshot stores them ({@link RestoreEngine}), or whole huge pages assembled from them
 * ({@link HugePagePrefetch}).
 */
public interface BackgroundRestore extends AutoCloseable {
    /** Completes with the metrics when every page is installed, or exceptionally with the first error. */
    CompletableFuture<RestoreMetrics> completion();

    boolean isDone();

    /** Makes the work holding snapshot page {@code page} the next taken, if nobody has taken it yet. */
    void prioritize(long page);

    /** Bytes installed so far. */
    long bytesInstalled();

    /** Cancels if still running and waits for every worker to finish. */
    @Override
    void close();
}
