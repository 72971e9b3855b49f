package dev.sabre.e2e;

import dev.sabre.codec.CodecId;
import dev.sabre.handler.HandlerConfig;
import dev.sabre.handler.PageFaultHandler;
import dev.sabre.handler.Strategy;
import dev.sabre.restore.RestoreOptions;

import java.nio.file.Path;

/**
 * The page-fault handler as its own process when the {@code sabre} command line is not on the class path
 * (this module's tests): the same service and the same options as {@code sabre handler} (--socket,
 * --snapshot, --strategy, --ws, --ws-codec, --control, --direct-io, --threads, --json). Runs until SIGTERM.
 */
public final class HandlerMain {
    private HandlerMain() {
    }

    public static void main(String[] args) throws Exception {
        Path socket = null, snapshot = null, ws = null, control = null;
        String strategy = null, wsCodec = "none";
        boolean directIo = false, json = false;
        int threads = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--socket" -> socket = Path.of(args[++i]);
                case "--snapshot" -> snapshot = Path.of(args[++i]);
                case "--strategy" -> strategy = args[++i];
                case "--ws" -> ws = Path.of(args[++i]);
                case "--ws-codec" -> wsCodec = args[++i];
                case "--control" -> control = Path.of(args[++i]);
                case "--direct-io" -> directIo = true;
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--json" -> json = true;
                default -> {
                    System.err.println("sabre handler: unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (socket == null || snapshot == null || strategy == null) {
            System.err.println("sabre handler: --socket, --snapshot and --strategy are required");
            System.exit(2);
        }
        CodecId codec = CodecId.parse(wsCodec);
        HandlerConfig config = HandlerConfig.of(socket, snapshot, Strategy.parse(strategy))
                .withWorkingSet(ws)
                .withWorkingSetCodec(codec, 0)
                .withControl(control)
                .withRestore(threads > 0 ? RestoreOptions.defaults().withDirectIo(directIo).withThreads(threads)
                        : RestoreOptions.defaults().withDirectIo(directIo));
        PageFaultHandler handler;
        try {
            handler = PageFaultHandler.start(config);
        } catch (Exception e) {
            System.err.println("sabre handler: " + e.getMessage());
            System.exit(1);
            return;
        }
        if (json) {
            handler.onSessionEnd(report -> System.out.println(report.toJson()));
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                handler.close();
            } catch (Exception e) {
                System.err.println("sabre handler: shutdown: " + e.getMessage());
            }
        }));
        handler.awaitTermination();
    }
}
