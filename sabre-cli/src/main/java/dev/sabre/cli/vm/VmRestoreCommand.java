package dev.sabre.cli.vm;

import dev.sabre.e2e.FunctionSnapshot;
import dev.sabre.e2e.Measurement;
import dev.sabre.e2e.Orchestrator;
import dev.sabre.e2e.StoreTarget;
import dev.sabre.handler.Strategy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code sabre vm restore FUNCTION --strategy S}: restores the function's cached snapshot with a strategy,
 * invokes it once, checks the reply and prints vHive's three numbers. The reap strategies record the
 * working set first when the snapshot has none.
 */
@Command(name = "restore", mixinStandardHelpOptions = true,
        description = {"Restore a function from its snapshot with a strategy, invoke it once and print the cold start.",
                "Strategies: file, lazy, eager, reap-record, reap, reap-compressed, sabre."})
public final class VmRestoreCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FUNCTION", description = "A directory of functions/, e.g. fibonacci.")
    String function;

    @Option(names = "--strategy", required = true, paramLabel = "S", description = "file, lazy, eager, reap-record, reap, reap-compressed or sabre.")
    String strategy;

    @Option(names = "--snapshot", paramLabel = "DIR", description = "A snapshot directory (default: the function's snapshot in the cache).")
    Path snapshot;

    @Option(names = "--huge-pages", description = {"Guest memory on 2 MiB huge pages, served by the handler (not with file);",
            "reserves the host's huge pages and gives them back (root)."})
    boolean hugePages;

    @Option(names = "--store", paramLabel = "STORE", description = {"Restore from the function's snapshot in this store "
            + "(pushed by 'sabre vm snapshot --store'), through a cold host cache: file pulls the memory first, the other",
            "strategies are served by the handler from the store. The device state comes from the local snapshot."})
    String store;

    @Option(names = "--endpoint", paramLabel = "URL", description = "S3 endpoint of --store (default: AWS_ENDPOINT_URL or the SDK's own configuration).")
    java.net.URI endpoint;

    @Mixin
    VmOptions vm;

    @Override
    public Integer call() {
        Strategy s = Strategy.parse(strategy);
        Orchestrator.checkPageSize(s, hugePages);
        Orchestrator o = vm.orchestrator();
        o.checkFunction(function);
        FunctionSnapshot fs = snapshot != null ? FunctionSnapshot.load(snapshot) : o.cached(function);
        if (s.replaysWorkingSet() && !fs.hasWorkingSet()) {
            System.err.println("[sabre] " + function + ": no working set yet; recording it (reap-record, first invocation)");
            fs.snapshot().checkCompatible(o.spec(function), o.driver().name());
            fs = o.recordWorkingSet(fs);
        }
        Measurement m;
        if (store != null) {
            if (hugePages) {
                throw new dev.sabre.vmm.VmmException("--store restores on 4 KiB pages only");
            }
            try (StoreTarget target = StoreTarget.open(store, endpoint, 0, dev.sabre.vmm.StepLog.stderr())) {
                m = o.restoreOnceFromStore(function, fs, s, target);
            }
        } else {
            m = o.restoreOnce(function, fs, s, hugePages);
        }
        System.out.println(m.reply());
        System.out.println("restore from snapshot (us): " + m.restoreMicros());
        System.out.println("cold start (us): " + m.coldStartMicros());
        System.out.println("total (us): " + m.totalMicros());
        if (m.faults() >= 0) {
            System.out.println("page faults served by the handler (" + m.pageSizeLabel() + " pages): " + m.faults());
            System.out.println("bytes installed by the handler: " + m.installedBytes());
        }
        return 0;
    }
}
