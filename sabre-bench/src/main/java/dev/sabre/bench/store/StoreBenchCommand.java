package dev.sabre.bench.store;

import dev.sabre.e2e.FunctionSnapshot;
import dev.sabre.e2e.fleet.Rates;
import dev.sabre.format.Datasets;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sabre bench store}: restores from a snapshot store on a real S3 server over a shaped link (docs/fleet.md). */
@Command(name = "store", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Restores from a snapshot store on S3Proxy behind a link of a set bandwidth (network namespace, veth,",
                "tc tbf; root), through the page-fault handler to a simulated VMM replaying each function's recorded",
                "working set: download+file, pull+file, lazy and reap-compressed from the store, reap-compressed from the",
                "local disk. Bytes on the link, requests, prefetch, restore, cold start; the host cache checks; the store's",
                "size against the summed memory. Uses the function snapshots 'sabre e2e' left in the cache."})
public final class StoreBenchCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FUNCTION", arity = "0..*",
            description = "Functions whose snapshots (with working sets) to use (default: every one in the cache).")
    List<String> functions = new ArrayList<>();

    @Option(names = "--rates", split = ",", defaultValue = "1gbit,100mbit", paramLabel = "RATE",
            description = "Link rates (default ${DEFAULT-VALUE}).")
    List<String> rates;

    @Option(names = "--repetitions", defaultValue = "3", paramLabel = "N", description = "Restores per variant and rate; medians are reported (default ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = "--snapshots", paramLabel = "DIR", description = "Where e2e keeps its snapshots (default: CACHE/snapshots/qemu).")
    Path snapshotRoot;

    @Option(names = "--csv", paramLabel = "FILE", description = "Write one CSV row per restore.")
    Path csv;

    @Option(names = "--plots", paramLabel = "DIR", description = "Write PNG plots here (default: beside --csv, else bench-out/).")
    Path plots;

    @Override
    public Integer call() throws Exception {
        if (repetitions < 1 || repetitions > 100) {
            throw new VmmException("--repetitions must be 1 .. 100, not " + repetitions);
        }
        List<Long> bits = rates.stream().map(Rates::parse).toList();
        Path root = snapshotRoot != null ? snapshotRoot : Datasets.cacheDir().resolve("snapshots").resolve("qemu");
        List<FunctionSnapshot> found = snapshots(root, functions);
        Path work = Files.createTempDirectory(Files.createDirectories(root.getParent()), "bench-store-");
        StoreBench.Result result;
        try {
            List<FunctionSnapshot> snapshots = new ArrayList<>();
            for (FunctionSnapshot fs : found) {
                snapshots.add(pin(fs, work.resolve("snapshots")));
            }
            // Rows are appended as they are measured, so a run that dies part-way leaves what it measured.
            if (csv != null) {
                Files.createDirectories(csv.toAbsolutePath().getParent());
                Files.writeString(csv, StoreBench.Row.csvHeader() + "\n");
            }
            result = new StoreBench(new StoreBench.Config(snapshots, bits, repetitions), work, System.err, row -> {
                if (csv != null) {
                    try {
                        Files.writeString(csv, row.csv() + "\n", java.nio.file.StandardOpenOption.APPEND);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException("cannot append to " + csv + ": " + e.getMessage(), e);
                    }
                }
            }).run();
        } finally {
            WorkDir.deleteTree(work);
        }
        StoreReport report = new StoreReport(result);
        report.print(System.out);
        Path dir = plots != null ? plots : csv != null ? csv.toAbsolutePath().getParent() : Path.of("bench-out");
        report.plots(dir);
        System.out.println("plots: " + dir.toAbsolutePath() + (csv != null ? "; csv: " + csv.toAbsolutePath() : ""));
        return report.allTargetsMet() ? 0 : 1;
    }

    /**
     * The snapshot's files hard-linked into {@code dir}: an e2e run that replaces the snapshot meanwhile
     * (a new directory renamed over the old) leaves this run's files as they were.
     */
    static FunctionSnapshot pin(FunctionSnapshot fs, Path dir) throws IOException {
        Path pinned = dir.resolve(fs.dir().getFileName());
        Files.createDirectories(pinned);
        try (Stream<Path> files = Files.list(fs.dir())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.createLink(pinned.resolve(f.getFileName()), f);
            }
        }
        return FunctionSnapshot.load(pinned);
    }

    /** The e2e snapshots with working sets under {@code root}: those of {@code names}, or all when none are named. */
    static List<FunctionSnapshot> snapshots(Path root, List<String> names) throws IOException {
        List<FunctionSnapshot> found = new ArrayList<>();
        if (Files.isDirectory(root)) {
            try (Stream<Path> dirs = Files.list(root)) {
                for (Path dir : dirs.sorted().toList()) {
                    if (Files.isRegularFile(dir.resolve(FunctionSnapshot.METADATA))) {
                        FunctionSnapshot fs = FunctionSnapshot.load(dir);
                        if (fs.hasWorkingSet() && (names.isEmpty() || names.contains(fs.function()))) {
                            found.add(fs);
                        }
                    }
                }
            }
        }
        for (String name : names) {
            if (found.stream().noneMatch(fs -> fs.function().equals(name))) {
                throw new VmmException("no snapshot of " + name + " with a working set in " + root
                        + "; take one with 'sabre e2e " + name + " --strategies reap-compressed'");
            }
        }
        if (found.isEmpty()) {
            throw new VmmException("no function snapshot with a working set in " + root
                    + "; take one with 'sabre e2e fibonacci --strategies reap-compressed'");
        }
        return found;
    }
}
