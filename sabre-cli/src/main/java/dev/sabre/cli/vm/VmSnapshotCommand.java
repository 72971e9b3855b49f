package dev.sabre.cli.vm;

import dev.sabre.e2e.FunctionSnapshot;
import dev.sabre.e2e.Orchestrator;
import dev.sabre.e2e.StoreTarget;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/**
 * {@code sabre vm snapshot FUNCTION}: boots the function, waits until it answers, invokes it, snapshots it into
 * the cache and packs its memory into a .sabre next to it; {@code --record-ws} also records the working set.
 */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
        description = "Boot a function, invoke it, snapshot it into the cache and pack its memory into a .sabre.")
public final class VmSnapshotCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FUNCTION", description = "A directory of functions/, e.g. fibonacci.")
    String function;

    @Option(names = "--input", paramLabel = "TEXT", description = "The request's name (default: empty, the function's default size).")
    String input = "";

    @Option(names = "--record-ws", description = "Also record the working set (reap-record on a first invocation after a restore).")
    boolean recordWs;

    @Option(names = "--store", paramLabel = "STORE", description = "Also push the memory (and the working set with --record-ws) "
            + "to this store, as FUNCTION-<MiB>M (and, with the working set, uncompressed for reap as FUNCTION-<MiB>M.raw): a directory or s3://bucket/prefix.")
    String store;

    @Option(names = "--endpoint", paramLabel = "URL", description = "S3 endpoint of --store (default: AWS_ENDPOINT_URL or the SDK's own configuration).")
    java.net.URI endpoint;

    @Mixin
    VmOptions vm;

    @Override
    public Integer call() {
        Orchestrator o = vm.orchestrator();
        o.checkFunction(function);
        FunctionSnapshot fs = o.snapshot(function, input);
        if (recordWs) {
            fs = o.recordWorkingSet(fs);
        }
        System.out.println("snapshot of " + function + " in " + fs.dir());
        System.out.printf("  memory file %.1f MiB on disk, %s %.1f MiB%n", fs.memoryFileBytes() / 1048576.0,
                fs.sabreFile().getFileName(), FunctionSnapshot.size(fs.sabreFile()) / 1048576.0);
        if (fs.hasWorkingSet()) {
            System.out.printf("  working set %.2f MiB raw, %.2f MiB compressed%n",
                    FunctionSnapshot.size(fs.rawWorkingSet()) / 1048576.0,
                    FunctionSnapshot.size(fs.compressedWorkingSet()) / 1048576.0);
        }
        System.out.println("  reply before the snapshot: " + fs.reply());
        if (store != null) {
            try (StoreTarget target = StoreTarget.open(store, endpoint, 0, dev.sabre.vmm.StepLog.stderr())) {
                java.nio.file.Path disk = o.build(function).rootfs(); // pages that are its blocks stay there
                target.push(fs, dev.sabre.handler.Strategy.REAP_COMPRESSED, disk);
                if (fs.hasWorkingSet()) {
                    target.push(fs, dev.sabre.handler.Strategy.REAP, disk);
                }
                System.out.println("  pushed to " + target.reference(fs, dev.sabre.handler.Strategy.REAP_COMPRESSED)
                        + (fs.hasWorkingSet() ? " and, raw for reap, " + target.reference(fs, dev.sabre.handler.Strategy.REAP) : ""));
            }
        }
        return 0;
    }
}
