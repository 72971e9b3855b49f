package dev.sabre.bench.format;

import dev.sabre.codec.CodecId;
import dev.sabre.format.Datasets;
import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.Packer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sabre bench format DATASET}: what the snapshot format gains over the raw memory file, measured in one run. */
@Command(name = "format", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Pack a real memory with each given configuration and measure, against the raw file in the same run:",
                "size ratio, unpacking into memory from storage (snapshot evicted from the page cache first) vs an O_DIRECT read of the raw file,",
                "and the latency of decoding one random page."})
public final class FormatBenchCommand implements Callable<Integer> {
    @Parameters(paramLabel = "DATASET", description = "A dataset name from shared/datasets or a raw memory file.")
    String dataset;

    @Option(names = "--config", split = ",", paramLabel = "CODEC-LEVEL:POLICY:PAGES[:LITERALS]",
            description = "Pack configurations, e.g. zstd-3:fixed:4,zstd-3:page:1:huffman; LITERALS is auto (default), "
                    + "huffman or raw (default: the pack defaults).")
    List<String> configs;

    @Option(names = "--repetitions", paramLabel = "N", description = "Timing repetitions, best kept (default ${DEFAULT-VALUE}).")
    int repetitions = 5;

    @Option(names = "--samples", paramLabel = "N", description = "Random pages for the decode latency (default ${DEFAULT-VALUE}).")
    int samples = 20000;

    @Option(names = "--threads", paramLabel = "N", description = "Decode threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--csv", paramLabel = "FILE", description = "Write the results as CSV.")
    Path csv;

    @Override
    public Integer call() throws IOException {
        Path raw = Files.isRegularFile(Path.of(dataset)) ? Path.of(dataset) : Datasets.memoryFile(dataset);
        List<String> lines = new ArrayList<>();
        lines.add("dataset,config,memory_bytes,snapshot_bytes,ratio,raw_odirect_read_us,snapshot_odirect_read_us,unpack_us,"
                + "unpack_speedup,page_p50_us,page_p99_us,page_max_us,threads");
        PrintStream o = System.out;
        o.printf("%-22s %10s %8s | %11s %11s %10s %8s | %8s %8s %8s%n", "config", "snapshot", "ratio", "raw O_DIRECT",
                "snap O_DIRECT", "unpack", "speedup", "page p50", "page p99", "page max");
        for (String config : configs == null ? List.of(defaultConfig()) : configs) {
            PackOptions options = parse(config).withThreads(threads);
            Path snapshot = Files.createTempFile(raw.toAbsolutePath().getParent(), "bench-", ".sabre");
            try {
                try (MemoryImage image = MemoryImage.open(raw, 4096, null)) {
                    Packer.pack(image, snapshot, options, null);
                }
                FormatTargets.Result r = FormatTargets.measure(raw, snapshot, repetitions, samples, threads);
                o.printf("%-22s %10s %7.1fx | %9.0f ms %9.0f ms %7.0f ms %7.1fx | %5.1f us %5.1f us %5.0f us%n", config,
                        String.format(Locale.ROOT, "%.1f MiB", r.snapshotBytes() / 1048576.0), r.ratio(),
                        r.rawDirectReadNanos() / 1e6, r.snapshotDirectReadNanos() / 1e6, r.unpackNanos() / 1e6,
                        r.unpackSpeedup(), r.pageP50us(), r.pageP99us(), r.pageMaxUs());
                lines.add(String.format(Locale.ROOT, "%s,%s,%d,%d,%.3f,%.0f,%.0f,%.0f,%.3f,%.2f,%.2f,%.2f,%d", dataset, config,
                        r.memoryBytes(), r.snapshotBytes(), r.ratio(), r.rawDirectReadNanos() / 1e3,
                        r.snapshotDirectReadNanos() / 1e3, r.unpackNanos() / 1e3, r.unpackSpeedup(), r.pageP50us(),
                        r.pageP99us(), r.pageMaxUs(), r.threads()));
            } finally {
                Files.deleteIfExists(snapshot);
            }
        }
        if (csv != null) {
            Files.write(csv, lines);
            o.println("wrote " + csv);
        }
        return 0;
    }

    static String defaultConfig() {
        PackOptions d = PackOptions.defaults();
        int pages = d.policy() == PackPolicy.PAGE ? 1 : d.framePages(); // the page policy ignores the bound
        return d.codec().label() + "-" + d.level() + ":" + d.policy().label() + ":" + pages;
    }

    static PackOptions parse(String config) {
        String[] parts = config.split(":");
        if (parts.length != 3 && parts.length != 4) {
            throw new IllegalArgumentException("config '" + config
                    + "' is not CODEC-LEVEL:POLICY:PAGES[:LITERALS] (e.g. zstd-3:fixed:4 or zstd-3:page:1:huffman)");
        }
        String[] codec = parts[0].split("-", 2);
        CodecId id = CodecId.parse(codec[0]);
        int level = codec.length > 1 ? Integer.parseInt(codec[1]) : id.defaultLevel();
        PackOptions options = PackOptions.defaults().withCodec(id, level)
                .withPolicy(PackPolicy.parse(parts[1]), Integer.parseInt(parts[2]));
        if (parts.length == 4) {
            options = options.withLiterals(PackOptions.Literals.valueOf(parts[3].toUpperCase(java.util.Locale.ROOT)));
        }
        return options;
    }
}
