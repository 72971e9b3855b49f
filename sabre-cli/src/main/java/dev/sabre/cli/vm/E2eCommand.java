package dev.sabre.cli.vm;

import dev.sabre.e2e.EndToEnd;
import dev.sabre.e2e.ImageFunctions;
import dev.sabre.e2e.Orchestrator;
import dev.sabre.e2e.Plots;
import dev.sabre.e2e.Report;
import dev.sabre.e2e.StoreTarget;
import dev.sabre.e2e.fleet.Rates;
import dev.sabre.handler.Strategy;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code sabre e2e [FUNCTIONS...]}: the end-to-end experiment (vHive's run_end2end and run_reap_end2end) on
 * every strategy, ending with the comparison table and the targets; optionally a CSV and PNG plots.
 */
@Command(name = "e2e", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Snapshot each function, record its working set, then restore it with every strategy from a cold",
                "page cache, measuring VM restore latency, cold start (first invocation) and total, as vHive does."})
public final class E2eCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FUNCTIONS", arity = "0..*", description = "Functions to measure (default: fibonacci).")
    List<String> functions = List.of("fibonacci");

    @Option(names = "--strategies", split = ",", paramLabel = "S,...",
            description = "Strategies to compare (default: all: file, lazy, eager, reap-record, reap, reap-compressed, sabre).")
    List<String> strategies;

    @Option(names = "--repetitions", paramLabel = "N", description = "Measured restores per function and strategy (default ${DEFAULT-VALUE}).")
    int repetitions = 5;

    @Option(names = "--warmups", paramLabel = "N", description = "Unreported restores before them (default ${DEFAULT-VALUE}).")
    int warmups = 1;

    @Option(names = "--input", paramLabel = "TEXT", description = "The request's name (default: empty, each function's default size).")
    String input = "";

    @Option(names = "--warm", description = "Do not drop the page caches between repetitions.")
    boolean warm;

    @Option(names = "--huge-pages", description = {"Also restore with guest memory on 2 MiB huge pages (every strategy but file),",
            "in the same rounds as on 4 KiB pages; reserves the host's huge pages and gives them back (root)."})
    boolean hugePages;

    @Option(names = "--csv", paramLabel = "FILE", description = "Write one row per function, strategy and repetition.")
    Path csv;

    @Option(names = "--plots", paramLabel = "DIR", description = "Write PNG plots comparing the strategies.")
    Path plots;

    @Option(names = "--store", paramLabel = "STORE", description = {"Also push each snapshot to this store (a directory or",
            "s3://bucket/prefix; reap also gets a raw copy) and measure every chosen strategy from it too, in the same",
            "rounds, each through a cold host cache (file: pull, then the VMM maps it); then a second restore on the host."})
    String store;

    @Option(names = "--endpoint", paramLabel = "URL", description = "S3 endpoint of --store (default: AWS_ENDPOINT_URL or the SDK's own configuration).")
    URI endpoint;

    @Option(names = "--link", paramLabel = "RATE", description = {"With an s3:// --store and no --endpoint: start a private S3 server",
            "(S3Proxy) for the run behind a link of this rate (network namespace, veth, tc tbf; root), e.g. 1gbit or",
            "100mbit, and count the bytes and requests of every restore from the store."})
    String link;

    @Option(names = "--images", description = {"Run the functions from container images, as firecracker-containerd does:",
            "start a private registry for the run (docker-registry on 127.0.0.1, storage in $SABRE_CACHE/registry), build",
            "each function's image with buildah (sabre image build), push it there, define FUNCTION-image from it",
            "(sabre vm build FUNCTION-image --image REF) and measure FUNCTION-image."})
    boolean images;

    @Mixin
    VmOptions vm;

    @Override
    public Integer call() throws Exception {
        List<Strategy> chosen = strategies == null ? Strategy.all()
                : strategies.stream().map(Strategy::parse).distinct().toList();
        if (link != null && store == null) {
            throw new VmmException("--link needs --store s3://BUCKET[/PREFIX]: the S3 server it starts holds that store");
        }
        if (endpoint != null && store == null) {
            throw new VmmException("--endpoint needs --store");
        }
        long rate = link == null ? 0 : Rates.parse(link);
        Orchestrator o = vm.orchestrator();
        EndToEnd.Result result;
        try (StoreTarget target = store == null ? null : StoreTarget.open(store, endpoint, rate, StepLog.stderr());
             ImageFunctions fromImages = images ? ImageFunctions.start(o, o.images().cache().dir("registry"), StepLog.stderr()) : null) {
            EndToEnd.Options options = new EndToEnd.Options(functions, chosen, repetitions, warmups, input, !warm,
                    hugePages, target, fromImages);
            result = new EndToEnd(o, StepLog.stderr()).run(options);
        }
        if (!result.rows().isEmpty()) {
            System.out.println();
            System.out.printf("sabre e2e on %s, %d MiB guests, %d repetition(s)%s%n", o.driver().name(), vm.memoryMiB,
                    repetitions, result.pageCacheNote() == null ? ", page caches dropped before every restore"
                            : "; " + result.pageCacheNote());
            System.out.print(Report.table(result.rows()));
            if (!result.traffic().isEmpty()) {
                System.out.println();
                System.out.print(Report.storeTraffic(result.rows(), result.traffic()));
            }
            String targets = Report.targets(result.rows());
            if (!targets.isEmpty()) {
                System.out.println();
                System.out.print(targets);
            }
            if (csv != null) {
                Report.writeCsv(csv, result.rows());
                System.out.println("CSV: " + csv);
            }
            if (plots != null) {
                for (Path p : Plots.write(plots, result.rows(), result.snapshots())) {
                    System.out.println("plot: " + p);
                }
            }
        }
        if (!result.failures().isEmpty()) {
            throw new VmmException(result.failures().size() + " function(s) failed: " + String.join("; ",
                    result.failures().stream().map(f -> f.function() + ": " + f.message()).toList()));
        }
        return 0;
    }
}
