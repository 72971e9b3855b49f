package dev.sabre.bench.restore;

import dev.sabre.codec.CodecId;
import dev.sabre.format.Datasets;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code sabre bench restore DATASET}: the restoration benchmark (figure 9, extended), with the targets of
 * issue 3 printed as ratios against baselines measured in the same run.
 */
@Command(name = "restore", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Restore time into userfaultfd-registered memory vs partition length (1..20000 pages), per layout",
                "and codec, cold (O_DIRECT) and warm, against REAP passthrough, the original's single-threaded DEFLATE,",
                "lazy 4 KiB faults and the UFFDIO_COPY floor. The default run takes a few minutes; --full sweeps more."})
public final class RestoreBenchCommand implements Callable<Integer> {
    private static final List<Integer> ALL_SPARSITIES = List.of(1, 2, 4, 10, 20, 50, 100, 1000, 5000, 20000);

    @Parameters(paramLabel = "DATASET", description = "A dataset from shared/datasets (e.g. python-json-512m) or a raw memory file.")
    String dataset;

    @Option(names = "--csv", paramLabel = "FILE", description = "Write one CSV row per point.")
    Path csv;

    @Option(names = "--plots", paramLabel = "DIR", description = "Write PNG plots here (default: beside --csv, else bench-out/).")
    Path plots;

    @Option(names = "--full", description = "All codecs at every layout, 32768-page sets, 5 repetitions.")
    boolean full;

    @Option(names = "--sparsities", split = ",", paramLabel = "N", description = "Partition lengths (default 1,2,4,10,20,50,100,1000,5000,20000).")
    List<Integer> sparsities;

    @Option(names = "--pages", paramLabel = "N", description = "Pages per sweep working set (default 16384, --full 32768).")
    Long pages;

    @Option(names = "--threads", paramLabel = "N", description = "Restore threads (default: 1 per core warm, 2 per core cold).")
    int threads;

    @Option(names = "--repeat", paramLabel = "N", description = "Repetitions per point, the median is reported (default 3, --full 5).")
    Integer repeat;

    @Option(names = "--huge-pages", description = {"Instead of the sweep: lazy and sabre serving a guest on 2 MiB hugetlb pages "
            + "against 4 KiB pages, touching the same random pages (--pages, default 2000): faults, installed bytes, "
            + "touch time. Reserves the host's huge pages for the run (root)."})
    boolean hugePages;

    @Option(names = "--work", paramLabel = "DIR", description = "Where snapshots under test are written (default: the cache directory).")
    Path work;

    @Override
    public Integer call() throws Exception {
        Path file = Files.isRegularFile(Path.of(dataset)) ? Path.of(dataset) : Datasets.memoryFile(dataset);
        String name = Files.isRegularFile(Path.of(dataset)) ? file.getFileName().toString() : dataset;
        List<RestoreBench.Variant> variants = new ArrayList<>();
        variants.add(new RestoreBench.Variant("default", CodecId.ZSTD, 1, threads));
        variants.add(new RestoreBench.Variant("default", CodecId.LZ4, 1, threads));
        variants.add(new RestoreBench.Variant("default", CodecId.DEFLATE, 1, threads));
        variants.add(new RestoreBench.Variant("partition", CodecId.ZSTD, 1, threads));
        variants.add(new RestoreBench.Variant("partition", CodecId.LZ4, 1, threads));
        variants.add(new RestoreBench.Variant("single", CodecId.ZSTD, 1, threads));
        variants.add(new RestoreBench.Variant("passthrough", CodecId.NONE, 0, threads));
        if (full) {
            variants.add(new RestoreBench.Variant("partition", CodecId.DEFLATE, 1, threads));
            for (CodecId codec : List.of(CodecId.LZ4, CodecId.DEFLATE)) {
                variants.add(new RestoreBench.Variant("single", codec, 1, threads));
            }
            variants.add(new RestoreBench.Variant("default", CodecId.ZSTD, 3, threads));
        }
        RestoreBench.Config config = new RestoreBench.Config(sparsities != null ? sparsities : ALL_SPARSITIES,
                pages != null ? pages : full ? 32768 : 16384, variants, threads, repeat != null ? repeat : full ? 5 : 3);
        Path workDir = Files.createTempDirectory(Files.createDirectories(work != null ? work : Datasets.cacheDir()), "bench-restore-");
        PrintStream err = System.err;
        if (hugePages) {
            return hugePages(file, workDir, err);
        }
        List<RestoreBench.Row> rows;
        java.util.Map<Integer, Baselines.Lazy> lazy = new java.util.LinkedHashMap<>();
        try {
            rows = new RestoreBench(config, err, workDir).run(name, file);
            for (int framePages : List.of(16, 4, 1)) {
                err.printf("lazy fault service on a zstd snapshot with %d KiB frames: warm-up VMM, then 5000 random faults%n",
                        framePages * 4);
                lazy.put(framePages, RestoreBench.lazyCompressed(file, workDir, framePages, 5000));
            }
        } finally {
            try (var files = Files.list(workDir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(workDir);
        }
        print(rows, System.out);
        summary(rows, lazy, System.out);
        if (csv != null) {
            Files.createDirectories(csv.toAbsolutePath().getParent());
            List<String> lines = new ArrayList<>();
            lines.add(RestoreBench.Row.csvHeader());
            rows.forEach(r -> lines.add(r.csv()));
            Files.write(csv, lines);
            System.out.println("wrote " + csv);
        }
        Path dir = plots != null ? plots : csv != null ? csv.toAbsolutePath().getParent() : Path.of("bench-out");
        for (String cache : List.of("cold", "warm")) {
            Path png = dir.resolve(name + "-restore-" + cache + ".png");
            RestorePlots.write(png, name + ": restore time vs partition length (" + cache + ", "
                    + config.setPages() + "-page working set)", rows, cache);
            System.out.println("wrote " + png);
        }
        return 0;
    }

    private int hugePages(Path file, Path workDir, PrintStream err) throws Exception {
        List<HugePageBench.Row> rows;
        try {
            rows = HugePageBench.run(file, workDir, pages != null ? Math.toIntExact(pages) : 2000, err);
        } finally {
            Files.deleteIfExists(workDir);
        }
        HugePageBench.print(rows, System.out);
        if (csv != null) {
            Files.createDirectories(csv.toAbsolutePath().getParent());
            List<String> lines = new ArrayList<>();
            lines.add(HugePageBench.Row.csvHeader());
            rows.forEach(r -> lines.add(r.csv()));
            Files.write(csv, lines);
            System.out.println("wrote " + csv);
        }
        return 0;
    }

    private static void print(List<RestoreBench.Row> rows, PrintStream out) {
        out.printf("%-8s %6s %7s %-18s %-10s %-6s %11s %11s %-16s %7s%n", "set", "sparsity", "pages", "layout", "codec",
                "cache", "restore_ms", "baseline_ms", "baseline", "ratio");
        for (RestoreBench.Row r : rows) {
            out.printf(Locale.ROOT, "%-8s %6d %7d %-18s %-10s %-6s %11.2f %11.2f %-16s %6.2fx%n", r.set(), r.sparsity(),
                    r.pages(), r.layout(), r.codec(), r.cache(), r.restoreUs() / 1000.0, r.baselineUs() / 1000.0,
                    r.baseline(), r.ratio());
        }
    }

    /** The three targets, each as a ratio against a baseline of this run. */
    private static void summary(List<RestoreBench.Row> rows, java.util.Map<Integer, Baselines.Lazy> lazy, PrintStream out) {
        List<RestoreBench.Row> ws = rows.stream().filter(r -> r.set().equals("nonzero")).toList();
        out.println();
        out.println("Targets (working set = the snapshot's non-zero pages):");
        best(ws, "cold").ifPresent(r -> out.printf(Locale.ROOT,
                "  cold:  best Sabre restore (%s %s) %.1f ms vs REAP passthrough %.1f ms: %.2fx faster (target >= 2x; original 1.55x)%n",
                r.layout(), r.codec(), r.restoreUs() / 1000.0, r.baselineUs() / 1000.0, r.ratio()));
        best(ws, "warm").ifPresent(r -> out.printf(Locale.ROOT,
                "  warm:  best Sabre restore (%s %s) %.1f ms vs UFFDIO_COPY floor %.1f ms: %.2fx the floor (target <= 1.5x)%n",
                r.layout(), r.codec(), r.restoreUs() / 1000.0, r.baselineUs() / 1000.0, 1 / r.ratio()));
        ws.stream().filter(r -> r.layout().equals("passthrough") && r.cache().equals("warm")).findFirst().ifPresent(r -> out.printf(
                Locale.ROOT, "         Sabre restore of raw frames (passthrough) %.1f ms: %.2fx the floor%n",
                r.restoreUs() / 1000.0, 1 / r.ratio()));
        lazy.forEach((framePages, l) -> {
            if (l.report() != null) {
                out.printf(Locale.ROOT, "  lazy:  fault service on a zstd snapshot with %d KiB frames: p50 %.1f us, p99 %.1f us, max %.1f us over %d faults (target p99 < 50 us)%n",
                        framePages * 4, l.report().p50Us(), l.report().p99Us(), l.report().maxUs(), l.report().faults());
            }
        });
    }

    private static java.util.Optional<RestoreBench.Row> best(List<RestoreBench.Row> rows, String cache) {
        return rows.stream().filter(r -> r.cache().equals(cache) && r.metrics() != null && !r.layout().startsWith("original")
                        && !r.codec().equals("none"))
                .min(Comparator.comparingLong(RestoreBench.Row::restoreUs));
    }
}
