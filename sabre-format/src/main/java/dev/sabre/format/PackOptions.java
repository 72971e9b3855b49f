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
 * @param literals   how zstd stores literals (see {@link Literals})
 */
public record PackOptions(CodecId codec, int level, PackPolicy policy, int framePages, List<PageRun> pages,
                          List<PageRun> prefetch, boolean dedup, int threads, Literals literals) {

    /**
     * How zstd stores the literals of each frame: Huffman-coded, or raw (see
     * {@link dev.sabre.codec.Codec#withRawLiterals}). AUTO stores them raw in one-page frames, where the
     * per-frame Huffman table costs a large share of the decode time, so a page decodes noticeably faster
     * for a somewhat larger file, and Huffman-codes them in larger frames, where the
     * table pays for itself (FORMAT.md gives the measured numbers).
     */
    public enum Literals { AUTO, HUFFMAN, RAW }

    /** Whether these options store literals raw: zstd only, other codecs have no such choice. */
    public boolean rawLiterals() {
        if (codec != CodecId.ZSTD) {
            return false;
        }
        return switch (literals) {
            case RAW -> true;
            case HUFFMAN -> false;
            case AUTO -> policy == PackPolicy.PAGE
                    || ((policy == PackPolicy.FIXED || policy == PackPolicy.PARTITION) && framePages == 1);
        };
    }

    /**
     * The defaults: zstd level 3, every page its own frame (a lazy fault decodes 4 KiB, not a whole
     * run) with raw literals (AUTO), a 16-page bound for the policies that group pages, deduplication,
     * all cores.
     */
    public static PackOptions defaults() {
        return new PackOptions(CodecId.ZSTD, 3, PackPolicy.PAGE, 16, null, null, true,
                Runtime.getRuntime().availableProcessors(), Literals.AUTO);
    }

    /**
     * A working set: only {@code order}'s pages. Raw, in (fault) order, in frames of up to 1 MiB, as REAP
     * stores it. Compressed, in address order and 2 MiB frames: a working set is installed whole, so what
     * counts is its size on disk, and neighbouring pages and larger frames compress better than fault order
     * and small frames (a fault that jumps the prefetch queue waits for one frame). Level 0 picks zstd 19: a
     * working set of a few MiB is packed once, zstd decodes every level equally fast, and the high level
     * stores it smaller.
     */
    public static PackOptions workingSet(List<PageRun> order, CodecId codec, int level) {
        if (codec == CodecId.NONE) {
            return defaults().withPages(order).withCodec(CodecId.NONE, 0).withPolicy(PackPolicy.PASSTHROUGH, 256);
        }
        int chosen = level != 0 ? level : codec == CodecId.ZSTD ? 19 : codec.defaultLevel();
        return defaults().withPages(PageRun.inAddressOrder(order)).withCodec(codec, chosen)
                .withPolicy(PackPolicy.FIXED, 512);
    }

    public PackOptions withCodec(CodecId codec, int level) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads, literals);
    }

    public PackOptions withPolicy(PackPolicy policy, int framePages) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads, literals);
    }

    public PackOptions withPages(List<PageRun> pages) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads, literals);
    }

    public PackOptions withPrefetch(List<PageRun> prefetch) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads, literals);
    }

    public PackOptions withDedup(boolean dedup) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads, literals);
    }

    public PackOptions withLiterals(Literals literals) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads, literals);
    }

    public PackOptions withThreads(int threads) {
        return new PackOptions(codec, level, policy, framePages, pages, prefetch, dedup, threads, literals);
    }
}
