package dev.sabre.format;

import dev.sabre.codec.CodecId;
import java.util.List;

/**
 * How to pack a memory image.
 *
 * @param framePages the frame bound in pages (for FIXED the exact frame size; ignored by SINGLE and PAGE)
 * @param pages      when not null, pack only these pages, in this order, which also becomes the
 *                   prefetch order (a REAP working set); duplicates after the first are ignored
 * @param prefetch   when not null (and {@code pages} is null), the prefetch order over a full snapshot
 * @param dedup      store byte-identical pages once
 * @param threads    worker threads for classification and compression
 */
public record PackOptions(CodecId codec, int level, PackPolicy policy, int framePages, List<PageRun> pages,
                          List<PageRun> prefetch, boolean dedup, int threads) {

    /**
     * The defaults: zstd level 3, every page its own frame (a lazy fault decodes 4 KiB, not a whole
     * run), a 16-page bound for the policies that group pages, deduplication, all cores.
     */
    public static PackOptions defaults() {
        return new PackOptions(CodecId.ZSTD, 3, PackPolicy.PAGE, 16, null, null, true,
                Runtime.getRuntime().availableProcessors());
    }

    public PackOptions withCodec(CodecId codec, int level) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads);
    }

    public PackOptions withPolicy(PackPolicy policy, int framePages) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads);
    }

    public PackOptions withPages(List<PageRun> pages) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads);
    }

    public PackOptions withPrefetch(List<PageRun> prefetch) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads);
    }

    public PackOptions withDedup(boolean dedup) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads);
    }

    public PackOptions withThreads(int threads) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads);
    }
}
