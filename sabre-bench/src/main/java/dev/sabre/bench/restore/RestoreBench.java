package dev.sabre.bench.restore;

import dev.sabre.codec.CodecId;
import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.Packer;
import dev.sabre.format.PageRun;
import dev.sabre.linux.FileIo;
import dev.sabre.restore.RestoreEngine;
import dev.sabre.restore.RestoreMetrics;
import dev.sabre.restore.RestoreOptions;
import dev.sabre.restore.StorageFile;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.LongStream;

/**
 * The restoration benchmark (figure 9 of the paper, extended): for working sets made of partitions of 1 to
 * 20,000 contiguous pages, and for the snapshot's non-zero pages, the time to restore them into
 * userfaultfd-registered memory from cold storage (O_DIRECT) and from the page cache, for each layout and
 * codec, next to baselines measured in the same run: REAP passthrough, the original's single-threaded
 * DEFLATE restore, lazy 4 KiB faults through the real handler, and the UFFDIO_COPY floor.
 */
final class RestoreBench {
    static final int PAGE = 4096;

    /** A way to pack and restore: a layout (how pages are grouped into frames) and a codec. */
    record Variant(String layout, CodecId codec, int level, int threads) {
        String label() {
            return layout + "-" + codec.label() + (codec == CodecId.NONE ? "" : "-" + level);
        }

        PackOptions pack(int sparsity) {
            PackOptions base = PackOptions.defaults().withCodec(codec, codec == CodecId.NONE ? 0 : level);
            int partitionBound = Math.clamp(sparsity, 1, 32768);
            return switch (layout) {
                case "single" -> base.withPolicy(PackPolicy.SINGLE, 16);
                case "partition", "original" -> base.withPolicy(PackPolicy.PARTITION, partitionBound);
                case "passthrough" -> base.withPolicy(PackPolicy.PASSTHROUGH, 256);
                default -> base.withPolicy(PackPolicy.FIXED, 16);
            };
        }
    }

    /** One measured point. {@code ratio} = baseline time / this time (above 1: faster than the baseline). */
    record Row(String dataset, String set, int sparsity, long pages, String layout, String codec, String cache,
               long restoreUs, String baseline, long baselineUs, long storedBytes, RestoreMetrics metrics) {
        double ratio() {
            return restoreUs == 0 ? 0 : (double) baselineUs / restoreUs;
        }

        static String csvHeader() {
            return "dataset,set,sparsity,pages,layout,codec,cache,restore_us,baseline,baseline_us,ratio,stored_bytes,"
                    + "map_us,read_partition_info_us,read_snapshot_us,decompress_us,install_us";
        }

        String csv() {
            RestoreMetrics m = metrics;
            return String.format(Locale.ROOT, "%s,%s,%d,%d,%s,%s,%s,%d,%s,%d,%.3f,%d,%s", dataset, set, sparsity, pages,
                    layout, codec, cache, restoreUs, baseline, baselineUs, ratio(), storedBytes,
                    m == null ? ",,,," : m.mapUs() + "," + m.readInfoUs() + "," + m.readUs() + "," + m.decompressUs() + "," + m.installUs());
        }
    }

    record Config(List<Integer> sparsities, long setPages, List<Variant> variants, int threads, int repeat) {}

    private final Config config;
    private final PrintStream progress;
    private final Path work;

    RestoreBench(Config config, PrintStream progress, Path work) {
        this.config = config;
        this.progress = progress;
        this.work = work;
    }

    /** Partitions of {@code length} pages spread evenly over the memory, {@code budget} pages in all. */
    static List<PageRun> partitions(long pageCount, int length, long budget) {
        long count = Math.max(1, Math.ceilDiv(budget, length));
        long spacing = pageCount / count;
        List<PageRun> runs = new ArrayList<>();
        long left = budget;
        for (long i = 0; i < count && left > 0; i++) {
            int n = (int) Math.min(Math.min(length, left), pageCount - i * spacing);
            runs.add(new PageRun(i * spacing, n));
            left -= n;
        }
        return runs;
    }

    /** The non-zero pages of the memory, as runs in page order: the working set of the headline target. */
    static List<PageRun> nonZeroPages(MemorySegment memory) {
        List<PageRun> runs = new ArrayList<>();
        MemorySegment zero = MemorySegment.ofArray(new byte[PAGE]);
        for (long p = 0; p < memory.byteSize() / PAGE; p++) {
            if (memory.asSlice(p * PAGE, PAGE).mismatch(zero) < 0) {
                continue;
            }
            runs.add(new PageRun(p, 1));
        }
        return merge(runs);
    }

    static List<PageRun> merge(List<PageRun> runs) {
        List<PageRun> merged = new ArrayList<>();
        for (PageRun r : runs) {
            if (!merged.isEmpty() && merged.getLast().endPage() == r.firstPage()) {
                PageRun last = merged.removeLast();
                merged.add(new PageRun(last.firstPage(), last.pageCount() + r.pageCount()));
            } else {
                merged.add(r);
            }
        }
        return merged;
    }

    /** Runs the sweep and the headline set over the raw memory file {@code memory}. */
    List<Row> run(String dataset, Path memoryFile) throws Exception {
        List<Row> rows = new ArrayList<>();
        try (Arena arena = Arena.ofShared(); FileChannel ch = FileChannel.open(memoryFile, StandardOpenOption.READ);
             MemoryImage image = MemoryImage.open(memoryFile, PAGE, null)) {
            MemorySegment memory = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            long pageCount = ch.size() / PAGE;
            int step = 0, steps = config.sparsities().size() + 1;
            for (int sparsity : config.sparsities()) {
                progress.printf("[%d/%d] sparsity %d pages: %d-page working set%n", ++step, steps, sparsity, config.setPages());
                rows.addAll(measureSet(dataset, "sparsity", sparsity, partitions(pageCount, sparsity, config.setPages()),
                        image, memory, memoryFile));
            }
            List<PageRun> nonZero = nonZeroPages(memory);
            long pages = nonZero.stream().mapToLong(PageRun::pageCount).sum();
            progress.printf("[%d/%d] working set = the %d non-zero pages (%d runs)%n", ++step, steps, pages, nonZero.size());
            rows.addAll(measureSet(dataset, "nonzero", (int) Math.round((double) pages / nonZero.size()), nonZero, image,
                    memory, memoryFile));
        }
        return rows;
    }

    private List<Row> measureSet(String dataset, String set, int sparsity, List<PageRun> runs, MemoryImage image,
                                 MemorySegment memory, Path memoryFile) throws Exception {
        long pages = runs.stream().mapToLong(PageRun::pageCount).sum();
        long memorySize = memory.byteSize();
        List<Row> rows = new ArrayList<>();
        // The headline set (the targets) gets at least 5 repetitions: the machines are noisy.
        int repeat = set.equals("nonzero") ? Math.max(5, config.repeat()) : config.repeat();
        Path rawWs = work.resolve(set + "-" + sparsity + ".ws.raw");
        Baselines.writeRawWorkingSet(memory, runs, rawWs);
        // The floor is the faster of one thread and the restore's thread count: installs may not scale.
        long floor = Long.MAX_VALUE;
        int cores = Runtime.getRuntime().availableProcessors();
        for (int threads : new int[] {1, config.threads() > 0 ? config.threads() : cores}) {
            long us = median(repeat, () -> {
                try (RegisteredMemory target = new RegisteredMemory(memorySize)) {
                    return Baselines.copyFloor(memory, runs, target.installer, threads);
                }
            });
            progress.printf(Locale.ROOT, "  UFFDIO_COPY floor on %d thread%s: %.2f ms%n", threads, threads == 1 ? "" : "s", us / 1000.0);
            floor = Math.min(floor, us);
        }
        long floorUs = floor;
        long[] reap = new long[2];
        for (int cold = 1; cold >= 0; cold--) {
            boolean direct = cold == 1;
            if (!direct) {
                warm(rawWs);
            }
            reap[cold] = median(repeat, () -> {
                try (RegisteredMemory target = new RegisteredMemory(memorySize)) {
                    return Baselines.reapPassthrough(rawWs, runs, target.installer, direct);
                }
            });
        }
        rows.add(new Row(dataset, set, sparsity, pages, "floor", "none", "memory", floor, "floor", floorUs, 0, null));
        rows.add(new Row(dataset, set, sparsity, pages, "reap-passthrough", "none", "cold", reap[1], "reap-passthrough", reap[1], Files.size(rawWs), null));
        rows.add(new Row(dataset, set, sparsity, pages, "reap-passthrough", "none", "warm", reap[0], "floor", floorUs, Files.size(rawWs), null));
        long[] order = runs.stream().flatMapToLong(r -> LongStream.range(r.firstPage(), r.endPage())).toArray();
        Baselines.Lazy lazy = Baselines.lazyFaults(memoryFile, memoryFile, order, work);
        rows.add(new Row(dataset, set, sparsity, pages, "lazy-4k-faults", "none", "warm", lazy.totalUs(), "floor", floorUs, 0, null));
        List<Variant> variants = new ArrayList<>(config.variants());
        variants.add(new Variant("original", CodecId.DEFLATE, 6, 1));
        for (Variant v : variants) {
            Path snapshot = work.resolve(set + "-" + sparsity + "-" + v.label() + ".sabre");
            Packer.Result packed = Packer.pack(image, snapshot, v.pack(sparsity).withPages(runs), null);
            for (int cold = 1; cold >= 0; cold--) {
                boolean direct = cold == 1;
                if (!direct) {
                    warm(snapshot);
                }
                // The original restorator: one thread reads, decodes and installs in turn.
                RestoreOptions options = RestoreOptions.defaults().withThreads(v.threads()).withDirectIo(direct)
                        .withOverlapReads(!v.layout().equals("original"));
                RestoreMetrics[] best = new RestoreMetrics[1];
                long us = median(repeat, () -> {
                    try (RegisteredMemory target = new RegisteredMemory(memorySize)) {
                        RestoreMetrics m = RestoreEngine.restore(snapshot, target.installer, options);
                        best[0] = m;
                        return m.totalUs();
                    }
                });
                String layout = v.layout().equals("original") ? "original-1-thread" : v.layout();
                rows.add(new Row(dataset, set, sparsity, pages, layout, v.codec().label() + (v.codec() == CodecId.NONE ? "" : "-" + v.level()),
                        direct ? "cold" : "warm", us, direct ? "reap-passthrough" : "floor", direct ? reap[1] : floorUs,
                        packed.stats().fileBytes(), best[0]));
            }
            Files.deleteIfExists(snapshot);
        }
        Files.deleteIfExists(rawWs);
        return rows;
    }

    @FunctionalInterface
    private interface Measurement {
        long run() throws Exception;
    }

    private long median(int repeat, Measurement m) throws Exception {
        long[] samples = new long[repeat];
        for (int i = 0; i < samples.length; i++) {
            samples[i] = m.run();
        }
        Arrays.sort(samples);
        return samples[samples.length / 2];
    }

    /** Reads {@code file} once through the page cache so the next reads are warm. */
    private static void warm(Path file) throws IOException {
        try (StorageFile f = StorageFile.open(file, false); Arena arena = Arena.ofConfined()) {
            long size = Files.size(file), chunk = 8 << 20;
            MemorySegment buffer = FileIo.alignedBuffer(arena, StorageFile.bufferSizeFor(chunk));
            for (long at = 0; at < size; at += chunk) {
                f.read(at, Math.min(chunk, size - at), buffer);
            }
        }
    }

    /**
     * Lazy fault service of a full zstd snapshot with frames of {@code framePages} pages (a lazy fault
     * decodes one frame): a warm-up VMM, then {@code faults} random pages.
     */
    static Baselines.Lazy lazyCompressed(Path memoryFile, Path work, int framePages, int faults) throws Exception {
        Path snapshot = work.resolve("lazy-full-zstd-" + framePages + ".sabre");
        try (MemoryImage image = MemoryImage.open(memoryFile, PAGE, null)) {
            Packer.pack(image, snapshot, PackOptions.defaults().withPolicy(PackPolicy.FIXED, framePages), null);
        }
        try {
            long pageCount = Files.size(memoryFile) / PAGE;
            Baselines.lazyFaults(snapshot, memoryFile, new Random(1).longs(faults, 0, pageCount).toArray(), work);
            return Baselines.lazyFaults(snapshot, memoryFile, new Random(2).longs(faults, 0, pageCount).toArray(), work);
        } finally {
            Files.deleteIfExists(snapshot);
        }
    }
}
