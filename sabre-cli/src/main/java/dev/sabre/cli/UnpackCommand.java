package dev.sabre.cli;

import dev.sabre.format.SnapshotReader;
import dev.sabre.restore.RestoreOptions;
import dev.sabre.restore.Unpacker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sabre unpack IN OUT}: a .sabre snapshot back into a raw memory file. */
@Command(name = "unpack", mixinStandardHelpOptions = true,
        description = "Write a snapshot back as a raw memory file of the full memory size; zero and absent pages become holes.")
public final class UnpackCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IN", description = "Snapshot (.sabre).")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "Raw memory file to write.")
    Path out;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = {"-f", "--force"}, description = "Overwrite OUT if it exists.")
    boolean force;

    @Override
    public Integer call() throws IOException {
        if (Files.exists(out) && !force) {
            throw new IllegalArgumentException(out + " exists; pass --force to overwrite it");
        }
        long start = System.nanoTime();
        try (SnapshotReader reader = SnapshotReader.open(in)) {
            long written = Unpacker.unpack(reader, out, RestoreOptions.defaults().withThreads(threads), new ProgressBar(System.err));
            long nanos = System.nanoTime() - start;
            System.out.printf("unpacked %s into %s: %s of memory, %s of page data written, in %s (%s)%n", in, out,
                    Units.bytes(reader.header().memorySize()), Units.bytes(written), Units.nanos(nanos),
                    Units.rate(written, nanos));
        }
        return 0;
    }
}
