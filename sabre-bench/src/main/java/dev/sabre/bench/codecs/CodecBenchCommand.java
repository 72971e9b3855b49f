package dev.sabre.bench.codecs;

import dev.sabre.bench.Charts;
import dev.sabre.format.Datasets;
import dev.sabre.format.Progress;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sabre bench codecs DATASET...}: the codec characterization, as a table, a CSV and PNG plots. */
@Command(name = "codecs", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Characterize codecs on real guest memory: ratio, compress/decompress throughput on 1 and all threads,",
                "and per-page decode latency, for each codec, level and granularity (figures 2-5 of the paper, software codecs)."})
public final class CodecBenchCommand implements Callable<Integer> {
    @Parameters(paramLabel = "DATASET", arity = "0..*",
            description = "A dataset name from shared/datasets (e.g. python-json-512m) or a raw memory file.")
    List<String> datasets;

    @Option(names = "--codecs", split = ",", paramLabel = "C",
            description = "Codecs as NAME-LEVEL (default zstd-1,zstd-3,zstd-10,zstd-19,lz4-1,deflate-1,deflate-6).")
    List<String> codecs;

    @Option(names = "--granularities", split = ",", paramLabel = "G",
            description = "Chunk sizes: 4K,16K,64K,... partition, single (default 4K,16K,64K,partition,single).")
    List<String> granularities;

    @Option(names = "--threads", paramLabel = "N", description = "Threads for the all-threads measurements (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--samples", paramLabel = "N", description = "Random pages for the latency percentiles (default ${DEFAULT-VALUE}).")
    int samples = 2000;

    @Option(names = "--csv", paramLabel = "FILE", description = "Write one CSV row per dataset, codec and granularity.")
    Path csv;

    @Option(names = "--plots", paramLabel = "DIR", description = "Write PNG plots here (default: beside --csv, else bench-out/).")
    Path plots;

    @Option(names = "--from-csv", paramLabel = "FILE", description = "Measure nothing: print and plot the rows of an earlier --csv.")
    Path fromCsv;

    @Override
    public Integer call() throws IOException {
        CodecBench.Config defaults = CodecBench.Config.defaults();
        CodecBench.Config config = new CodecBench.Config(
                codecs == null ? defaults.codecs() : codecs.stream().map(CodecBench.CodecSpec::parse).toList(),
                granularities == null ? defaults.granularities() : granularities.stream().map(CodecBench.Granularity::parse).toList(),
                threads, samples, defaults.singleThreadSampleBytes());
        PrintStream err = System.err;
        Progress progress = (phase, done, total) -> err.printf("[%d/%d] %s%n", Math.min(done + 1, total), total, phase);
        List<CodecBench.Row> rows = new ArrayList<>();
        if (fromCsv != null) {
            Files.readAllLines(fromCsv).stream().skip(1).filter(l -> !l.isBlank()).map(CodecBench.Row::parse).forEach(rows::add);
        } else if (datasets == null || datasets.isEmpty()) {
            throw new IllegalArgumentException("name at least one DATASET (e.g. python-json-512m), or --from-csv FILE");
        }
        for (String dataset : fromCsv != null || datasets == null ? List.<String>of() : datasets) {
            Path file = Files.isRegularFile(Path.of(dataset)) ? Path.of(dataset) : Datasets.memoryFile(dataset);
            String name = Files.isRegularFile(Path.of(dataset)) ? file.getFileName().toString() : dataset;
            err.printf("%s: %s%n", name, file);
            rows.addAll(new CodecBench(config, progress).run(name, file));
        }
        print(rows, System.out);
        if (csv != null && fromCsv == null) {
            Path parent = csv.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            List<String> lines = new ArrayList<>();
            lines.add(CodecBench.Row.csvHeader());
            rows.forEach(r -> lines.add(r.csv()));
            Files.write(csv, lines);
            System.out.println("wrote " + csv);
        }
        Path dir = plots != null ? plots : csv != null ? csv.toAbsolutePath().getParent() : Path.of("bench-out");
        for (String dataset : rows.stream().map(CodecBench.Row::dataset).distinct().toList()) {
            List<CodecBench.Row> mine = rows.stream().filter(r -> r.dataset().equals(dataset)).toList();
            plot(dir.resolve(dataset + "-ratio.png"), dataset + ": compression ratio of non-zero pages", "ratio (x)", mine, CodecBench.Row::ratioNonZero, false);
            plot(dir.resolve(dataset + "-compress.png"), dataset + ": compression throughput, " + threads + " threads", "MB/s", mine, CodecBench.Row::compressMBpsN, true);
            plot(dir.resolve(dataset + "-decompress.png"), dataset + ": decompression throughput, " + threads + " threads", "MB/s", mine, CodecBench.Row::decompressMBpsN, false);
            plot(dir.resolve(dataset + "-page-latency.png"), dataset + ": decode latency of the chunk holding one page, p99", "microseconds (log)", mine, CodecBench.Row::pageP99us, true);
        }
        System.out.println("plots in " + dir.toAbsolutePath());
        return 0;
    }

    private static void plot(Path png, String title, String yTitle, List<CodecBench.Row> rows,
                             ToDoubleFunction<CodecBench.Row> value, boolean logY) throws IOException {
        List<String> granularities = new ArrayList<>(new LinkedHashSet<>(rows.stream().map(CodecBench.Row::granularity).toList()));
        Map<String, List<Double>> series = new LinkedHashMap<>();
        for (CodecBench.Row r : rows) {
            series.computeIfAbsent(r.codec(), k -> new ArrayList<>(granularities.stream().map(g -> Double.NaN).toList()))
                    .set(granularities.indexOf(r.granularity()), Math.max(value.applyAsDouble(r), logY ? 0.01 : 0));
        }
        Charts.bars(png, title, "granularity", yTitle, granularities, series, logY);
    }

    static void print(List<CodecBench.Row> rows, PrintStream o) {
        o.printf("%-18s %-10s %-10s %7s %8s %8s | %9s %9s | %9s %9s | %8s %8s%n", "dataset", "codec", "granul.",
                "chunks", "ratio", "ratio", "compress", "compress", "decomp.", "decomp.", "page", "page");
        o.printf("%-18s %-10s %-10s %7s %8s %8s | %9s %9s | %9s %9s | %8s %8s%n", "", "", "", "", "nonzero", "memory",
                "MB/s 1t", "MB/s Nt", "MB/s 1t", "MB/s Nt", "p50 us", "p99 us");
        for (CodecBench.Row r : rows) {
            o.printf("%-18s %-10s %-10s %7d %7.2fx %7.1fx | %9.0f %9.0f | %9.0f %9.0f | %8.1f %8.1f%n", r.dataset(), r.codec(),
                    r.granularity(), r.chunks(), r.ratioNonZero(), r.ratioMemory(), r.compressMBps1(), r.compressMBpsN(),
                    r.decompressMBps1(), r.decompressMBpsN(), r.pageP50us(), r.pageP99us());
        }
    }
}
