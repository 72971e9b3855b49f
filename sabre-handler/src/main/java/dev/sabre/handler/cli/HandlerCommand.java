package dev.sabre.handler.cli;

import dev.sabre.codec.CodecId;
import dev.sabre.handler.HandlerConfig;
import dev.sabre.handler.PageFaultHandler;
import dev.sabre.handler.Strategy;
import dev.sabre.restore.RestoreOptions;
import dev.sabre.store.StoreSnapshots;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code sabre handler --socket PATH --snapshot FILE --strategy S [--ws FILE]}: the Firecracker-compatible
 * page-fault handler, serving any number of VMMs until SIGTERM or Ctrl-C, which shut it down cleanly.
 */
@Command(name = "handler", mixinStandardHelpOptions = true, sortOptions = false,
        synopsisSubcommandLabel = "[record | stop-record | stats]",
        description = {"Serve VMMs' guest memory through userfaultfd (the Firecracker UFFD handshake).",
                "Strategies: lazy, eager, reap-record, reap, reap-compressed, sabre (see docs/handler.md)."},
        subcommands = {ControlCommand.Record.class, ControlCommand.StopRecord.class, ControlCommand.Stats.class})
public final class HandlerCommand implements Callable<Integer> {
    @Option(names = "--socket", paramLabel = "PATH", description = "Unix socket VMMs connect to (created mode 0600).")
    Path socket;

    @Option(names = "--snapshot", paramLabel = "FILE|STORE/NAME",
            description = "Guest memory: a raw memory file, a .sabre snapshot, or a snapshot in a store (STORE a directory or s3://bucket/prefix; STORE.md).")
    String snapshot;

    @Option(names = "--endpoint", paramLabel = "URL", description = "S3 endpoint of a store snapshot (default: AWS_ENDPOINT_URL or the SDK's own configuration).")
    URI endpoint;

    @Option(names = "--disk", paramLabel = "IMAGE",
            description = "The VM's root file system image, for a store snapshot pushed with --disk: its disk frames are read from it (STORE.md, \"Disk frames\").")
    Path disk;

    @Option(names = "--strategy", paramLabel = "S", description = "lazy, eager, reap-record, reap, reap-compressed or sabre.")
    String strategy;

    @Option(names = "--ws", paramLabel = "FILE", description = "Working set: replayed by reap / reap-compressed, written by reap-record and STOP_RECORD.")
    Path workingSet;

    @Option(names = "--ws-codec", paramLabel = "CODEC", description = "Codec of recorded working sets: none (default, REAPRecord), zstd, lz4, deflate.")
    String wsCodec = "none";

    @Option(names = "--ws-level", paramLabel = "N", description = "Its level (default: 19 for zstd, which packs a few MiB once; else the codec's default).")
    Integer wsLevel;

    @Option(names = "--control", paramLabel = "PATH", description = "Control socket for RECORD / STOP_RECORD / STATS.")
    Path control;

    @Option(names = "--threads", paramLabel = "N", description = "Cores prefetch and eager restores may compute on (default: all); with --direct-io twice as many threads, so reads stay in flight.")
    Integer threads;

    @Option(names = "--direct-io", description = "Read prefetches and eager restores with O_DIRECT (cold storage).")
    boolean directIo;

    @Option(names = "--verify", description = "Check every frame's checksum before serving anything.")
    boolean verify;

    @Option(names = "--no-kill", description = "Do not kill a VMM that cannot be served (it will hang).")
    boolean noKill;

    @Option(names = "--json", description = "Print one JSON object per finished VMM session on stdout.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        // Not picocli-required, so that the control subcommands work without them.
        if (socket == null || snapshot == null || strategy == null) {
            throw new ParameterException(spec.commandLine(), "--socket, --snapshot and --strategy are required to run the handler");
        }
        CodecId codec = CodecId.parse(wsCodec);
        RestoreOptions restore = RestoreOptions.defaults().withDirectIo(directIo);
        if (threads != null) {
            restore = restore.withThreads(threads);
        }
        boolean stored = StoreSnapshots.isStoreReference(snapshot);
        HandlerConfig config = HandlerConfig.of(socket, stored ? null : Path.of(snapshot), Strategy.parse(strategy))
                .withStore(stored ? snapshot : null, endpoint).withStoreDisk(disk)
                .withWorkingSet(workingSet)
                .withWorkingSetCodec(codec, wsLevel != null ? wsLevel : 0)
                .withControl(control).withRestore(restore).withVerify(verify).withKillUnservable(!noKill);
        PageFaultHandler handler = PageFaultHandler.start(config);
        if (json) {
            handler.onSessionEnd(report -> System.out.println(report.toJson()));
        }
        Thread hook = Thread.ofPlatform().unstarted(() -> {
            try {
                handler.close();
            } catch (Exception e) {
                System.err.println("sabre handler: shutdown: " + e.getMessage());
            }
        });
        Runtime.getRuntime().addShutdownHook(hook); // SIGTERM and Ctrl-C
        handler.awaitTermination();
        return 0;
    }
}
