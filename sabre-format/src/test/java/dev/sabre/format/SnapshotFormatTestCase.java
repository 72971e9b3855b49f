package dev.sabre.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.sabre.codec.CodecId;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The snapshot format's base test case, after Lucene's per-format base tests: a subclass names a family
 * of variants the packer can produce (a codec, with every policy, literal mode, dedup on and off, with and
 * without a prefetch order, and as a working set of chosen pages), and every test here runs on each:
 * round trip, decoding by random access in any order, every truncation at and next to each section
 * boundary, and bit flips across every section. A subclass is a few lines.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
abstract class SnapshotFormatTestCase {
    static final int PAGE = 4096;
    /** Small enough to cut and flip at every boundary of every variant, large enough for several frames of each kind. */
    static final int PAGES = 64;
    static final List<PageRun> PREFETCH = List.of(new PageRun(40, 3), new PageRun(2, 1), new PageRun(41, 6));
    static final List<PageRun> WORKING_SET = List.of(new PageRun(33, 9), new PageRun(1, 4), new PageRun(60, 1));

    @TempDir
    Path dir;
    private final CodecId codec;

    /** Every variant of this test uses {@code codec}. */
    SnapshotFormatTestCase(CodecId codec) {
        this.codec = codec;
    }

    /** The guest memory the variants pack: {@link #PAGES} pages, some zero, some duplicated, some random. */
    Path writeMemory(Path file) throws IOException {
        SyntheticMemory.MIXED.write(file);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.truncate((long) PAGES * PAGE);
        }
        return file;
    }

    /** Every combination the packer offers for {@link #codec}. */
    Stream<PackOptions> variants() {
        List<PackOptions> variants = new ArrayList<>();
        List<PackPolicy> policies = codec == CodecId.NONE ? List.of(PackPolicy.PASSTHROUGH)
                : Stream.of(PackPolicy.values()).filter(p -> p != PackPolicy.PASSTHROUGH).toList();
        List<PackOptions.Literals> literals = codec == CodecId.ZSTD ? List.of(PackOptions.Literals.values())
                : List.of(PackOptions.Literals.AUTO);
        for (PackPolicy policy : policies) {
            for (PackOptions.Literals literal : literals) {
                for (boolean dedup : new boolean[] {true, false}) {
                    PackOptions base = PackOptions.defaults().withCodec(codec, codec.defaultLevel()).withPolicy(policy, 4)
                            .withLiterals(literal).withDedup(dedup);
                    variants.add(base);
                    variants.add(base.withPrefetch(PREFETCH));
                    variants.add(base.withPages(WORKING_SET));
                }
            }
        }
        return variants.stream();
    }

    /** Packs the memory with {@code options}; the memory file is written once per variant. */
    private Path pack(PackOptions options) throws IOException {
        Path memory = writeMemory(dir.resolve("memory"));
        Path snapshot = dir.resolve("snapshot.sabre");
        try (MemoryImage image = MemoryImage.open(memory, PAGE, null)) {
            Packer.pack(image, snapshot, options, null);
        }
        return snapshot;
    }

    private static String describe(PackOptions o) {
        return "%s %s literals=%s dedup=%s prefetch=%s pages=%s".formatted(o.codec().label(), o.policy().label(),
                o.literals(), o.dedup(), o.prefetch() != null, o.pages() != null);
    }

    @ParameterizedTest
    @MethodSource("variants")
    void roundTripsEveryPresentPage(PackOptions options) throws IOException {
        Path snapshot = pack(options);
        MemorySegment original = MemorySegment.ofArray(Files.readAllBytes(dir.resolve("memory")));
        TreeSet<Long> wanted = new TreeSet<>();
        if (options.pages() != null) {
            options.pages().forEach(r -> { for (long p = r.firstPage(); p < r.endPage(); p++) wanted.add(p); });
        }
        try (SnapshotReader reader = SnapshotReader.open(snapshot); Arena arena = Arena.ofConfined()) {
            assertEquals(reader.frames().size(), reader.checkAllFrames(), describe(options));
            MemorySegment restored = arena.allocate((long) PAGES * PAGE);
            RandomAccessRead.readAll(reader, restored);
            for (long p = 0; p < PAGES; p++) {
                boolean present = options.pages() == null || wanted.contains(p);
                assertEquals(present, reader.kindOf(p) != PageKind.ABSENT, describe(options) + ": page " + p);
                if (present) {
                    assertEquals(-1, restored.asSlice(p * PAGE, PAGE).mismatch(original.asSlice(p * PAGE, PAGE)),
                            describe(options) + ": page " + p);
                }
            }
            List<PageRun> order = options.pages() != null ? options.pages() : options.prefetch() != null ? options.prefetch() : List.of();
            assertEquals(PageRun.inAddressOrder(order), PageRun.inAddressOrder(reader.prefetchOrder()), describe(options));
            if (!options.dedup()) {
                assertEquals(0, reader.stats().copyPages(), describe(options));
            }
            for (FrameInfo frame : reader.frames()) {
                assertTrue(frame.pageCount() <= Math.max(4, options.policy() == PackPolicy.SINGLE ? PAGES : 4), describe(options));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void decodesAnyPageByRandomAccessInAnyOrder(PackOptions options) throws IOException {
        Path snapshot = pack(options);
        MemorySegment original = MemorySegment.ofArray(Files.readAllBytes(dir.resolve("memory")));
        List<Long> pages = new ArrayList<>();
        for (long p = 0; p < PAGES; p++) {
            pages.add(p);
        }
        Collections.shuffle(pages, new Random(options.hashCode()));
        try (SnapshotReader reader = SnapshotReader.open(snapshot); PageReader pageReader = reader.pageReader();
             Arena arena = Arena.ofConfined()) {
            MemorySegment page = arena.allocate(PAGE);
            for (long p : pages) {
                if (reader.kindOf(p) == PageKind.ABSENT) {
                    continue;
                }
                pageReader.readPage(p, page);
                assertEquals(-1, page.mismatch(original.asSlice(p * PAGE, PAGE)), describe(options) + ": page " + p);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void everyTruncationAtASectionBoundaryFails(PackOptions options) throws IOException {
        Path snapshot = pack(options);
        byte[] bytes = Files.readAllBytes(snapshot);
        TreeSet<Long> cuts = new TreeSet<>();
        for (long boundary : boundaries(snapshot, bytes.length)) {
            for (long cut = boundary - 1; cut <= boundary + 1; cut++) {
                if (cut >= 0 && cut < bytes.length) {
                    cuts.add(cut);
                }
            }
        }
        Path cutFile = dir.resolve("cut.sabre");
        for (long cut : cuts) {
            Files.write(cutFile, java.util.Arrays.copyOf(bytes, (int) cut));
            expectCorrupt(cutFile, describe(options) + ", cut at " + cut);
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void bitFlipsAcrossEverySectionFail(PackOptions options) throws IOException {
        Path snapshot = pack(options);
        byte[] bytes = Files.readAllBytes(snapshot);
        List<Long> bounds = new ArrayList<>(boundaries(snapshot, bytes.length));
        Path flipped = dir.resolve("flipped.sabre");
        Random random = new Random(bytes.length);
        for (int s = 0; s + 1 < bounds.size(); s++) {
            long from = bounds.get(s), to = bounds.get(s + 1);
            if (from >= to) {
                continue;
            }
            // Each section's first and last byte and one between, each with one bit flipped.
            for (long at : new long[] {from, to - 1, from + random.nextLong(to - from)}) {
                byte[] bad = bytes.clone();
                bad[(int) at] ^= (byte) (1 << random.nextInt(8));
                Files.write(flipped, bad);
                expectCorrupt(flipped, describe(options) + ", bit flipped at offset " + at + " (section " + from + ".." + to + ")");
            }
        }
    }

    /** Where each section starts, read from the file's footer and frame table: header, frames, tables, footer, end. */
    private static TreeSet<Long> boundaries(Path snapshot, long size) throws IOException {
        TreeSet<Long> bounds = new TreeSet<>(List.of(0L, 8L, (long) SnapshotFormat.HEADER_SIZE, size - SnapshotFormat.FOOTER_SIZE, size));
        ByteBuffer footer = ByteBuffer.wrap(Files.readAllBytes(snapshot), (int) (size - SnapshotFormat.FOOTER_SIZE),
                SnapshotFormat.FOOTER_SIZE).slice().order(ByteOrder.LITTLE_ENDIAN);
        bounds.add(footer.getLong(0));
        bounds.add(footer.getLong(16));
        if (footer.getLong(40) > 0) {
            bounds.add(footer.getLong(32));
        }
        try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
            reader.frames().forEach(f -> bounds.add(f.offset()));
        }
        return bounds;
    }

    /** Opening and reading every frame of {@code file} must fail with one line naming the file. */
    private static void expectCorrupt(Path file, String what) {
        try (SnapshotReader reader = SnapshotReader.open(file)) {
            reader.checkAllFrames();
        } catch (CorruptSnapshotException e) {
            assertTrue(e.getMessage().startsWith(file.toString()), what + ": the message must name the file: " + e.getMessage());
            assertFalse(e.getMessage().contains("\n"), what + ": one line: " + e.getMessage());
            return;
        } catch (Throwable t) {
            fail(what + ": expected CorruptSnapshotException, got " + t, t);
        }
        fail(what + ": went unnoticed");
    }
}
