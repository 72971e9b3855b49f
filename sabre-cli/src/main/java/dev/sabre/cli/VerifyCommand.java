package dev.sabre.cli;

import dev.sabre.format.SnapshotReader;
import dev.sabre.format.SnapshotStats;
import dev.sabre.restore.RestoreEngine;
import dev.sabre.restore.RestoreOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sabre verify FILE}: every checksum checked and every frame decoded. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check every checksum of a snapshot and decode every frame.",
                "Exit status 0 when intact, 3 when corrupt (with the file and the offset or field at fault)."})
public final class VerifyCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "Snapshot (.sabre).")
    Path file;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public Integer call() throws IOException {
        long start = System.nanoTime();
        try (SnapshotReader reader = SnapshotReader.open(file)) {
            long frames = RestoreEngine.verify(reader, RestoreOptions.defaults().withThreads(threads), new ProgressBar(System.err));
            SnapshotStats s = reader.stats();
            long nanos = System.nanoTime() - start;
            System.out.printf("%s: OK (header, footer, metadata and %d frame checksums match; %s decoded in %s, %s)%n",
                    file, frames, Units.bytes(s.rawFrameBytes()), Units.nanos(nanos), Units.rate(s.rawFrameBytes(), nanos));
        }
        return 0;
    }
}
