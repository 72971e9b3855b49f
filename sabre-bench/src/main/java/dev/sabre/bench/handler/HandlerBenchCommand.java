package dev.sabre.bench.handler;

import dev.sabre.format.Datasets;
import dev.sabre.format.PackPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sabre bench handler}: the page-fault handler under attack and under load (docs/handler.md, bounds). */
@Command(name = "handler", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The page-fault handler, started as its own process, under attack and under load: silent",
                "connections against an honest VMM's fault latency (vs idle), threads and descriptors after the attack,",
                "log growth, SIGTERM under attack, honest VMMs in bursts (every byte checked), and resident memory after",
                "many sequential sessions per snapshot policy. Takes several minutes."})
public final class HandlerBenchCommand implements Callable<Integer> {
    @Parameters(paramLabel = "DATASET", defaultValue = "python-json-512m", description = "A dataset from shared/datasets.")
    String dataset;

    @Option(names = "--silent", defaultValue = "10000", description = "Silent connections held open (default ${DEFAULT-VALUE}).")
    int silent;

    @Option(names = "--vmms", defaultValue = "1000", description = "Honest VMMs in all (default ${DEFAULT-VALUE}).")
    int vmms;

    @Option(names = "--burst", defaultValue = "200", description = "Honest VMMs at once (default ${DEFAULT-VALUE}).")
    int burst;

    @Option(names = "--pages", defaultValue = "2000", description = "Random pages each honest VMM touches (default ${DEFAULT-VALUE}).")
    int pages;

    @Option(names = "--sessions", defaultValue = "1000", description = "Sequential sessions per policy (default ${DEFAULT-VALUE}).")
    int sessions;

    @Option(names = "--policies", split = ",", defaultValue = "page,fixed,partition,single,passthrough",
            description = "Snapshot policies for the sequential sessions (default ${DEFAULT-VALUE}).")
    List<String> policies;

    @Option(names = "--parts", split = ",", defaultValue = "attack,bursts,sessions",
            description = "Which parts to run (default ${DEFAULT-VALUE}).")
    List<String> parts;

    @Override
    public Integer call() throws Exception {
        Path work = Files.createTempDirectory(Files.createDirectories(Datasets.cacheDir()), "bench-handler-");
        List<HandlerBench.Row> rows;
        try {
            rows = new HandlerBench(new HandlerBench.Config(dataset, silent, vmms, burst, pages, sessions,
                    policies.stream().map(PackPolicy::parse).toList(), parts), work, System.err).run();
        } finally {
            try (var files = Files.list(work)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(work);
        }
        System.out.printf("%-52s %-40s %-20s %-24s %s%n", "measure", "value", "baseline", "target", "met");
        for (HandlerBench.Row r : rows) {
            System.out.printf("%-52s %-40s %-20s %-24s %s%n", r.what(), r.value(), r.baseline(), r.target(),
                    r.met() ? "yes" : "NO");
        }
        return rows.stream().allMatch(HandlerBench.Row::met) ? 0 : 1;
    }
}
