package dev.sabre.bench.jmh;

import dev.sabre.codec.CodecId;
import dev.sabre.format.Datasets;
import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.Packer;
import dev.sabre.format.PageKind;
import dev.sabre.format.PageReader;
import dev.sabre.format.SnapshotReader;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The lazy-fault hot path: decoding one random stored page of the real python-json snapshot, for
 * each framing (one page, 16 KiB and 64 KiB frames) and codec. The raw O_DIRECT page read is the
 * baseline a fault on an uncompressed file pays; compare the scores of one run.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class PageDecodeBenchmark {
    @Param({"zstd-3:page:1", "zstd-3:fixed:4", "zstd-3:fixed:16", "lz4-1:page:1"})
    public String config;

    private Path snapshot;
    private SnapshotReader reader;
    private PageReader pageReader;
    private long[] pages;
    private int next;
    private MemorySegment page;

    @Setup(Level.Trial)
    public void pack() throws IOException {
        Path raw = Datasets.memoryFile("python-json-512m");
        String[] parts = config.split(":");
        String[] codec = parts[0].split("-");
        PackOptions options = PackOptions.defaults().withCodec(CodecId.parse(codec[0]), Integer.parseInt(codec[1]))
                .withPolicy(PackPolicy.parse(parts[1]), Integer.parseInt(parts[2]));
        snapshot = Files.createTempFile("jmh", ".sabre");
        try (MemoryImage image = MemoryImage.open(raw, 4096, null)) {
            Packer.pack(image, snapshot, options, null);
        }
        reader = SnapshotReader.open(snapshot);
        pageReader = reader.pageReader();
        Random random = new Random(1);
        pages = new long[4096];
        for (int i = 0; i < pages.length; ) {
            long p = random.nextLong(reader.header().pageCount());
            if (reader.kindOf(p) == PageKind.STORED) {
                pages[i++] = p;
            }
        }
        page = Arena.ofAuto().allocate(4096);
    }

    @Benchmark
    public MemorySegment decodeRandomPage() throws IOException {
        pageReader.readPage(pages[next++ & (pages.length - 1)], page);
        return page;
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        pageReader.close();
        reader.close();
        Files.deleteIfExists(snapshot);
    }
}
