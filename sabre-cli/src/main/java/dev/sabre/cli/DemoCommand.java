package dev.sabre.cli;

import dev.sabre.bench.format.FormatTargets;
import dev.sabre.format.Datasets;
import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.Packer;
import dev.sabre.format.SnapshotReader;
import dev.sabre.vmm.image.HostTools;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sabre demo}: the end-to-end demonstration of the snapshot format on a real guest memory: pack,
 * inspect, verify, unpack and compare byte for byte, then measure what was gained against the raw file.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"The end-to-end demonstration: pack, inspect, verify and unpack a real guest-memory snapshot",
                "(default python-json-512m) and print what was gained; then run a function from its container image",
                "(built, pushed to a private registry, pulled back), snapshot it and compare its cold starts under every",
                "restore strategy, from local files and from a snapshot store (sabre e2e --images --store)."})
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--dataset", paramLabel = "NAME", description = "Dataset from shared/datasets (default ${DEFAULT-VALUE}).")
    String dataset = "python-json-512m";

    @Option(names = "--work", paramLabel = "DIR", description = "Where to write the snapshot and the unpacked copy (default: the cache).")
    Path work;

    @Option(names = "--function", paramLabel = "NAME", description = "Function for the microVM part (default ${DEFAULT-VALUE}).")
    String function = "fibonacci";

    @Option(names = "--repetitions", paramLabel = "N", description = "Cold starts per strategy in the microVM part (default ${DEFAULT-VALUE}).")
    int repetitions = 3;

    @Option(names = "--no-vm", description = "Skip the microVM part (the snapshot format only).")
    boolean noVm;

    @Override
    public Integer call() throws Exception {
        PrintStream o = System.out;
        o.println("== 1. the real guest memory");
        Path raw = Datasets.memoryFile(dataset);
        o.printf("%s: %s (%s, unpacked from shared/datasets)%n", dataset, raw, Units.bytes(Files.size(raw)));
        Path dir = work != null ? work : Datasets.cacheDir().resolve("demo");
        Files.createDirectories(dir);
        Path snapshot = dir.resolve(dataset + ".sabre");
        Path back = dir.resolve(dataset + ".unpacked.mem");

        o.println();
        o.println("== 2. sabre pack " + raw + " " + snapshot);
        check(Main.run("pack", raw.toString(), snapshot.toString(), "--force"));
        o.println();
        o.println("== 3. sabre inspect " + snapshot);
        check(Main.run("inspect", snapshot.toString()));
        o.println();
        o.println("== 4. sabre verify " + snapshot);
        check(Main.run("verify", snapshot.toString()));
        o.println();
        o.println("== 5. sabre unpack " + snapshot + " " + back);
        check(Main.run("unpack", snapshot.toString(), back.toString(), "--force"));
        long mismatch = Files.mismatch(raw, back);
        o.println(mismatch == -1 ? "unpacked memory is byte-identical to the original"
                : "MISMATCH: unpacked memory differs at byte " + mismatch);
        Files.deleteIfExists(back);
        if (mismatch != -1) {
            return 1;
        }

        o.println();
        o.println("== 6. what was gained (measured now, baselines in the same run)");
        int threads = Runtime.getRuntime().availableProcessors();
        FormatTargets.Result r = FormatTargets.measure(raw, snapshot, 5, 20000, threads);
        o.printf("size      %s -> %s: %.1fx smaller (the original Sabre's best was 4.5x)%n", Units.bytes(r.memoryBytes()),
                Units.bytes(r.snapshotBytes()), r.ratio());
        o.printf("restore   raw file read with O_DIRECT: %s; snapshot read from storage and decoded into memory on %d cores: %s, %.1fx faster%n",
                Units.nanos(r.rawDirectReadNanos()), threads, Units.nanos(r.unpackNanos()), r.unpackSpeedup());
        o.printf("one page  random 4 KiB page decoded from the snapshot: p50 %.1f us, p99 %.1f us (%d samples)%n",
                r.pageP50us(), r.pageP99us(), r.samples());
        o.println("defaults  " + describe(PackOptions.defaults()));
        if (noVm) {
            return 0;
        }

        o.println();
        // The function as a container image through a private registry, its snapshots through a store on a private S3
        // server behind a shaped link (root: network namespace and tc), else in a directory store.
        boolean shaped = HostTools.isRoot();
        String store = shaped ? "s3://sabre-demo/e2e" : dir.resolve("store").toString();
        List<String> e2e = new ArrayList<>(List.of("e2e", function, "--images", "--repetitions", Integer.toString(repetitions),
                "--store", store));
        if (shaped) {
            e2e.addAll(List.of("--link", "1gbit"));
        }
        Path results = dir.resolve("e2e");
        e2e.addAll(List.of("--csv", results.resolve(function + ".csv").toString(), "--plots", results.toString()));
        o.println("== 7. sabre " + String.join(" ", e2e));
        o.println("   a real microVM of " + function + " from its container image (built with buildah, pushed to a private"
                + " registry, pulled back), restored with every strategy from local files and from "
                + (shaped ? "a snapshot store on a private S3 server (S3Proxy) behind a 1 Gbit/s link"
                : "a snapshot store in " + store + " (not root: no shaped link, no S3 server)"));
        check(Main.run(e2e.toArray(String[]::new)));
        return 0;
    }

    private static String describe(PackOptions d) {
        String frames = d.policy() == dev.sabre.format.PackPolicy.PAGE ? "one page per frame"
                : "frames of up to %d pages".formatted(d.framePages());
        return "%s level %d%s, policy %s (%s), dedup %s".formatted(d.codec().label(), d.level(),
                d.rawLiterals() ? " with raw literals" : "", d.policy().label(), frames, d.dedup() ? "on" : "off");
    }

    private static void check(int exit) {
        if (exit != 0) {
            throw new CommandLine.ExecutionException(new CommandLine(new Main()), "a step failed (exit " + exit + ")");
        }
    }
}
