package dev.sabre.bench.codecs;

import dev.sabre.codec.Codec;
import dev.sabre.codec.CodecException;
import dev.sabre.codec.CodecId;
import dev.sabre.codec.Codecs;
import dev.sabre.format.MemoryImage;
import dev.sabre.format.Progress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Characterizes software codecs on a real guest memory (the paper's figures 2-5, for zstd, LZ4 and
 * DEFLATE instead of IAA): for each codec and granularity, the ratio, compress and decompress
 * throughput on one and on all threads, and the latency of decoding the chunk that holds one page.
 *
 * <p>Only non-zero pages are compressed (zero pages cost nothing in a .sabre file); chunks are formed
 * from them in page order: fixed-size groups (4, 16, 64 KiB ...), partitions (maximal runs of
 * contiguous non-zero pages) or one single stream.
 */
public final class CodecBench {
    /** A codec and level to measure. */
    public record CodecSpec(CodecId id, int level) {
        public String label() {
            return id == CodecId.NONE ? "none" : id.label() + "-" + level;
        }

        public static CodecSpec parse(String text) {
            String[] parts = text.split("-", 2);
            CodecId id = CodecId.parse(parts[0]);
            return new CodecSpec(id, parts.length > 1 ? Integer.parseInt(parts[1]) : id.defaultLevel());
        }
    }

    /** How pages are grouped into independently compressed chunks. */
    public record Granularity(String label, int pages) {
        static final int PARTITION = -1;
        static final int SINGLE = -2;

        public static Granularity parse(String text) {
            return switch (text.toLowerCase(Locale.ROOT)) {
                case "partition" -> new Granularity("partition", PARTITION);
                case "single" -> new Granularity("single", SINGLE);
                default -> {
                    String t = text.toUpperCase(Locale.ROOT).replace("KIB", "K").replace("KB", "K");
                    if (!t.endsWith("K")) {
                        throw new IllegalArgumentException("granularity '" + text + "' is not 4K, 16K, ..., partition or single");
                    }
                    int kib = Integer.parseInt(t.substring(0, t.length() - 1));
                    if (kib % 4 != 0 || kib <= 0) {
                        throw new IllegalArgumentException("granularity " + text + " is not a multiple of the 4 KiB page");
                    }
                    yield new Granularity(kib + "K", kib / 4);
                }
            };
        }
    }

    public record Config(List<CodecSpec> codecs, List<Granularity> granularities, int threads, int latencySamples,
                         long singleThreadSampleBytes) {
        public static Config defaults() {
            return new Config(
                    List.of(new CodecSpec(CodecId.ZSTD, 1), new CodecSpec(CodecId.ZSTD, 3), new CodecSpec(CodecId.ZSTD, 10),
                            new CodecSpec(CodecId.ZSTD, 19), new CodecSpec(CodecId.LZ4, 1), new CodecSpec(CodecId.DEFLATE, 1),
                            new CodecSpec(CodecId.DEFLATE, 6)),
                    List.of(Granularity.parse("4K"), Granularity.parse("16K"), Granularity.parse("64K"),
                            Granularity.parse("partition"), Granularity.parse("single")),
                    Runtime.getRuntime().availableProcessors(), 2000, 32L << 20);
        }
    }

    /** One measurement point: a CSV row. Throughputs are of uncompressed bytes, in MB/s (10^6). */
    public record Row(String dataset, String codec, String backend, String granularity, long chunks, long memoryBytes,
                      long nonZeroBytes, long compressedBytes, double ratioNonZero, double ratioMemory,
                      double compressMBps1, double compressMBpsN, double decompressMBps1, double decompressMBpsN,
                      double pageP50us, double pageP99us, int threads) {
        public static String csvHeader() {
            return "dataset,codec,backend,granularity,chunks,memory_bytes,nonzero_bytes,compressed_bytes,ratio_nonzero,"
                    + "ratio_memory,compress_mbps_1t,compress_mbps_nt,decompress_mbps_1t,decompress_mbps_nt,page_p50_us,page_p99_us,threads";
        }

        /** Parses a line written by {@link #csv}. */
        public static Row parse(String line) {
            String[] f = line.split(",");
            if (f.length != 17) {
                throw new IllegalArgumentException("not a codec bench CSV row (17 columns expected): " + line);
            }
            return new Row(f[0], f[1], f[2], f[3], Long.parseLong(f[4]), Long.parseLong(f[5]), Long.parseLong(f[6]),
                    Long.parseLong(f[7]), Double.parseDouble(f[8]), Double.parseDouble(f[9]), Double.parseDouble(f[10]),
                    Double.parseDouble(f[11]), Double.parseDouble(f[12]), Double.parseDouble(f[13]), Double.parseDouble(f[14]),
                    Double.parseDouble(f[15]), Integer.parseInt(f[16]));
        }

        public String csv() {
            return String.format(Locale.ROOT, "%s,%s,%s,%s,%d,%d,%d,%d,%.3f,%.3f,%.1f,%.1f,%.1f,%.1f,%.2f,%.2f,%d",
                    dataset, codec, backend.replace(',', ' '), granularity, chunks, memoryBytes, nonZeroBytes, compressedBytes,
                    ratioNonZero, ratioMemory, compressMBps1, compressMBpsN, decompressMBps1, decompressMBpsN, pageP50us,
                    pageP99us, threads);
        }
    }

    /** The non-zero pages of a memory, copied contiguously, with their page numbers. */
    private record NonZero(MemorySegment data, long[] pages, long memoryBytes, int pageSize) {
        long bytes() {
            return data.byteSize();
        }
    }

    private final Config config;
    private final Progress progress;

    public CodecBench(Config config, Progress progress) {
        this.config = config;
        this.progress = progress == null ? Progress.NONE : progress;
    }

    public List<Row> run(String dataset, Path memoryFile) throws IOException {
        NonZero nonZero = load(memoryFile);
        List<Row> rows = new ArrayList<>();
        int total = config.codecs().size() * config.granularities().size();
        int done = 0;
        ExecutorService pool = Executors.newFixedThreadPool(config.threads(), Thread.ofPlatform().daemon().name("bench-", 0).factory());
        try {
            for (CodecSpec spec : config.codecs()) {
                for (Granularity g : config.granularities()) {
                    progress.update("bench " + spec.label() + " " + g.label(), done, total);
                    rows.add(measure(dataset, nonZero, spec, g, pool));
                    done++;
                }
            }
            progress.update("bench", total, total);
        } finally {
            pool.shutdownNow();
        }
        return rows;
    }

    private static NonZero load(Path file) throws IOException {
        try (MemoryImage image = MemoryImage.open(file, 4096, null); Arena scratch = Arena.ofConfined()) {
            int pageSize = image.pageSize();
            MemorySegment zero = scratch.allocate(pageSize);
            long[] pages = new long[16];
            int count = 0;
            for (long p = 0; p < image.pageCount(); p++) {
                if (image.page(p).mismatch(zero) != -1) {
                    if (count == pages.length) {
                        pages = Arrays.copyOf(pages, count * 2);
                    }
                    pages[count++] = p;
                }
            }
            MemorySegment data = Arena.ofAuto().allocate(Math.max(1, (long) count * pageSize), 4096);
            for (int i = 0; i < count; i++) {
                MemorySegment.copy(image.page(pages[i]), 0, data, (long) i * pageSize, pageSize);
            }
            return new NonZero(data.asSlice(0, (long) count * pageSize), Arrays.copyOf(pages, count), image.memorySize(), pageSize);
        }
    }

    /** Chunk boundaries as {first page index, page count} over the non-zero pages. */
    private static List<int[]> chunks(NonZero nz, Granularity g) {
        List<int[]> chunks = new ArrayList<>();
        int n = nz.pages().length;
        int maxSingle = (int) ((256L << 20) / nz.pageSize());
        for (int i = 0; i < n; ) {
            int count = 1;
            int limit = switch (g.pages()) {
                case Granularity.SINGLE -> maxSingle;
                case Granularity.PARTITION -> maxSingle;
                default -> g.pages();
            };
            while (i + count < n && count < limit
                    && (g.pages() != Granularity.PARTITION || nz.pages()[i + count] == nz.pages()[i + count - 1] + 1)) {
                count++;
            }
            chunks.add(new int[] {i, count});
            i += count;
        }
        return chunks;
    }

    private Row measure(String dataset, NonZero nz, CodecSpec spec, Granularity g, ExecutorService pool) throws IOException {
        int pageSize = nz.pageSize();
        List<int[]> chunks = chunks(nz, g);
        Codec probe = Codecs.create(spec.id(), spec.level());
        long[] outOffset = new long[chunks.size() + 1];
        for (int c = 0; c < chunks.size(); c++) {
            outOffset[c + 1] = outOffset[c] + probe.maxCompressedLength(chunks.get(c)[1] * pageSize);
        }
        MemorySegment out = Arena.ofAuto().allocate(Math.max(1, outOffset[chunks.size()]), 4096);
        int[] outLength = new int[chunks.size()];

        // Compression on all threads covers every chunk and yields the bytes for the ratio and decoding.
        long nanosN = timeParallel(chunks.size(), pool, () -> Codecs.create(spec.id(), spec.level()), (codec, c) -> {
            int[] ch = chunks.get(c);
            outLength[c] = codec.compress(nz.data().asSlice((long) ch[0] * pageSize, (long) ch[1] * pageSize),
                    out.asSlice(outOffset[c], outOffset[c + 1] - outOffset[c]));
        });
        long compressed = Arrays.stream(outLength).asLongStream().sum();
        // One thread: a prefix of the chunks (slow levels would take minutes on all of them).
        long sampleBytes = 0;
        int sampleChunks = 0;
        while (sampleChunks < chunks.size() && sampleBytes < config.singleThreadSampleBytes()) {
            sampleBytes += (long) chunks.get(sampleChunks)[1] * pageSize;
            sampleChunks++;
        }
        int sampled = sampleChunks;
        MemorySegment scratchOut = Arena.ofAuto().allocate(Math.max(1, outOffset[chunks.size()]), 4096);
        long start = System.nanoTime();
        for (int c = 0; c < sampled; c++) {
            int[] ch = chunks.get(c);
            probe.compress(nz.data().asSlice((long) ch[0] * pageSize, (long) ch[1] * pageSize),
                    scratchOut.asSlice(outOffset[c], outOffset[c + 1] - outOffset[c]));
        }
        long nanos1 = System.nanoTime() - start;

        // Decompression into a destination the size of the input, best of three.
        MemorySegment dest = Arena.ofAuto().allocate(Math.max(1, nz.bytes()), 4096);
        Codec decoder = Codecs.decoder(spec.id());
        long decode1 = Long.MAX_VALUE;
        long decodeN = Long.MAX_VALUE;
        for (int rep = 0; rep < 3; rep++) {
            start = System.nanoTime();
            for (int c = 0; c < chunks.size(); c++) {
                decode(decoder, nz, chunks.get(c), out.asSlice(outOffset[c], outLength[c]), dest);
            }
            decode1 = Math.min(decode1, System.nanoTime() - start);
            decodeN = Math.min(decodeN, timeParallel(chunks.size(), pool, () -> Codecs.decoder(spec.id()),
                    (codec, c) -> decode(codec, nz, chunks.get(c), out.asSlice(outOffset[c], outLength[c]), dest)));
        }
        if (dest.mismatch(nz.data()) != -1) {
            throw new IllegalStateException(spec.label() + " " + g.label() + ": decoded bytes differ from the input");
        }

        // A lazy fault: decode the chunk that holds one random page.
        int[] chunkOfPage = new int[nz.pages().length];
        for (int c = 0; c < chunks.size(); c++) {
            Arrays.fill(chunkOfPage, chunks.get(c)[0], chunks.get(c)[0] + chunks.get(c)[1], c);
        }
        int samples = g.pages() == Granularity.SINGLE ? Math.min(5, config.latencySamples()) : config.latencySamples();
        long[] latency = new long[Math.max(1, Math.min(samples, nz.pages().length))];
        MemorySegment chunkBuffer = Arena.ofAuto().allocate(Math.max(1, chunks.stream().mapToLong(ch -> (long) ch[1] * pageSize).max().orElse(1)), 4096);
        Random random = new Random(42);
        for (int i = 0; i < latency.length && nz.pages().length > 0; i++) {
            int c = chunkOfPage[random.nextInt(nz.pages().length)];
            int[] ch = chunks.get(c);
            long t = System.nanoTime();
            try {
                decoder.decompress(out.asSlice(outOffset[c], outLength[c]), chunkBuffer.asSlice(0, (long) ch[1] * pageSize));
            } catch (CodecException e) {
                throw new IOException(e.getMessage(), e);
            }
            latency[i] = System.nanoTime() - t;
        }
        Arrays.sort(latency);

        long nonZero = nz.bytes();
        return new Row(dataset, spec.label(), probe.backend(), g.label(), chunks.size(), nz.memoryBytes(), nonZero, compressed,
                ratio(nonZero, compressed), ratio(nz.memoryBytes(), compressed), mbps(sampleBytes, nanos1),
                mbps(nonZero, nanosN), mbps(nonZero, decode1), mbps(nonZero, decodeN),
                latency[latency.length / 2] / 1e3, latency[Math.min(latency.length - 1, (int) (latency.length * 0.99))] / 1e3,
                config.threads());
    }

    private static void decode(Codec codec, NonZero nz, int[] chunk, MemorySegment src, MemorySegment dest) {
        try {
            codec.decompress(src, dest.asSlice((long) chunk[0] * nz.pageSize(), (long) chunk[1] * nz.pageSize()));
        } catch (CodecException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private interface ChunkTask {
        void run(Codec codec, int chunk) throws IOException;
    }

    /** Runs {@code task} over all chunks split into one contiguous range per thread; returns the wall time. */
    private long timeParallel(int chunks, ExecutorService pool, java.util.function.Supplier<Codec> codecs, ChunkTask task)
            throws IOException {
        int threads = config.threads();
        List<Future<?>> futures = new ArrayList<>();
        long start = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            int lo = (int) ((long) chunks * t / threads);
            int hi = (int) ((long) chunks * (t + 1) / threads);
            futures.add(pool.submit(() -> {
                Codec codec = codecs.get();
                for (int c = lo; c < hi; c++) {
                    task.run(codec, c);
                }
                return null;
            }));
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof IOException io) {
                    throw io;
                }
                if (e.getCause() instanceof UncheckedIOException u) {
                    throw u.getCause();
                }
                throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
            }
        }
        return System.nanoTime() - start;
    }

    private static double ratio(long raw, long compressed) {
        return compressed == 0 ? 0 : (double) raw / compressed;
    }

    private static double mbps(long bytes, long nanos) {
        return nanos <= 0 ? 0 : bytes * 1e3 / nanos;
    }
}
