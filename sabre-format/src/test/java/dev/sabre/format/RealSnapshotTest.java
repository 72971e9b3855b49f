package dev.sabre.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.codec.CodecId;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The real python-json-512m guest memory through every codec and policy, restored byte for byte. */
class RealSnapshotTest {
    static Path raw;
    static Arena arena;
    static MemorySegment original;
    static MemorySegment restored;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadDataset() throws IOException {
        raw = Datasets.memoryFile("python-json-512m");
        arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(raw, StandardOpenOption.READ)) {
            original = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        }
        restored = arena.allocate(original.byteSize(), 4096);
    }

    @AfterAll
    static void release() {
        arena.close();
    }

    static Stream<Arguments> codecsAndPolicies() {
        List<Arguments> cases = new ArrayList<>();
        for (CodecId codec : List.of(CodecId.ZSTD, CodecId.LZ4, CodecId.DEFLATE)) {
            for (PackPolicy policy : List.of(PackPolicy.PAGE, PackPolicy.FIXED, PackPolicy.PARTITION, PackPolicy.SINGLE)) {
                cases.add(Arguments.of(codec, policy));
            }
        }
        cases.add(Arguments.of(CodecId.NONE, PackPolicy.PASSTHROUGH));
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("codecsAndPolicies")
    void restoresTheRealMemoryByteForByte(CodecId codec, PackPolicy policy) throws IOException {
        Path snap = dir.resolve("real.sabre");
        PackOptions options = PackOptions.defaults().withCodec(codec, codec.defaultLevel()).withPolicy(policy, 16);
        Packer.Result result;
        try (MemoryImage image = MemoryImage.open(raw, 4096, null)) {
            result = Packer.pack(image, snap, options, null);
        }
        SnapshotStats s = result.stats();
        // What the dataset's README measured: 74.3 % zero pages, 4.8 % of the non-zero pages duplicates.
        assertEquals(131072, s.memoryPages());
        assertEquals(0.743, (double) s.zeroPages() / s.memoryPages(), 0.001);
        assertEquals(0.048, (double) s.copyPages() / (s.copyPages() + s.storedPages()), 0.002);
        if (codec != CodecId.NONE) {
            assertTrue(s.fileBytes() * 10 < s.memoryPages() * 4096, "a compressed snapshot is over 10x smaller");
        }
        restored.fill((byte) 0);
        try (SnapshotReader reader = SnapshotReader.open(snap)) {
            RandomAccessRead.readAll(reader, restored);
            assertEquals(-1, restored.mismatch(original), "restored memory differs");
            Random random = new Random(codec.ordinal() * 10L + policy.ordinal());
            MemorySegment page = arena.allocate(4096);
            for (int i = 0; i < 200; i++) {
                long p = random.nextLong(s.memoryPages());
                reader.readPage(p, page);
                assertEquals(-1, page.mismatch(original.asSlice(p * 4096, 4096)), "page " + p);
            }
        }
    }

    @Test
    void aWorkingSetSnapshotHoldsOnlyItsPagesInFaultOrder() throws IOException {
        // A working set as REAP records it: pages in the order the guest touched them, not sorted.
        List<PageRun> workingSet = List.of(new PageRun(70_000, 40), new PageRun(12, 3), new PageRun(100_000, 1),
                new PageRun(5, 2), new PageRun(70_010, 5));
        Path snap = dir.resolve("ws.sabre");
        try (MemoryImage image = MemoryImage.open(raw, 4096, null)) {
            Packer.pack(image, snap, PackOptions.defaults().withPolicy(PackPolicy.PARTITION, 16).withPages(workingSet), null);
        }
        try (SnapshotReader reader = SnapshotReader.open(snap)) {
            // Repeated pages (70010..70014 were already in the first run) are dropped from the order.
            assertEquals(List.of(new PageRun(70_000, 40), new PageRun(12, 3), new PageRun(100_000, 1), new PageRun(5, 2)),
                    reader.prefetchOrder());
            assertEquals(46, reader.stats().presentPages());
            assertEquals(PageKind.ABSENT, reader.kindOf(0));
            MemorySegment page = arena.allocate(4096);
            for (PageRun run : reader.prefetchOrder()) {
                for (long p = run.firstPage(); p < run.endPage(); p++) {
                    reader.readPage(p, page);
                    assertEquals(-1, page.mismatch(original.asSlice(p * 4096, 4096)));
                }
            }
            // Frames follow the prefetch order, so a prefetch reads the file front to back.
            int previousFrame = -1;
            for (PageRun run : reader.prefetchOrder()) {
                for (long p = run.firstPage(); p < run.endPage(); p++) {
                    if (reader.kindOf(p) == PageKind.STORED) {
                        assertTrue(reader.frameOf(p) >= previousFrame, "page " + p + " is stored out of prefetch order");
                        previousFrame = reader.frameOf(p);
                    }
                }
            }
        }
    }

    @Test
    void workingSetsArePackedRawInFaultOrderOrAsZstd19InAddressOrder() throws IOException {
        // Real non-zero pages in a scrambled order: 64-page blocks taken back to front.
        List<PageRun> workingSet = new ArrayList<>();
        for (long block = 2000; block >= 0; block -= 64) {
            for (long p = block; p < block + 64; p++) {
                if (original.asSlice(p * 4096, 4096).mismatch(MemorySegment.ofArray(new byte[4096])) >= 0) {
                    workingSet.add(new PageRun(p, 1));
                }
            }
        }
        long[] sizes = new long[2];
        for (CodecId codec : List.of(CodecId.NONE, CodecId.ZSTD)) {
            Path snap = dir.resolve("ws-" + codec.label() + ".sabre");
            try (MemoryImage image = MemoryImage.open(raw, 4096, null)) {
                Packer.pack(image, snap, PackOptions.workingSet(workingSet, codec, 0), null);
            }
            sizes[codec == CodecId.NONE ? 0 : 1] = Files.size(snap);
            try (SnapshotReader reader = SnapshotReader.open(snap)) {
                assertEquals(codec, reader.header().codec());
                assertEquals(codec == CodecId.NONE ? 0 : 19, reader.header().level());
                // Raw keeps the order pages were touched in (REAP); compressed stores them by address.
                List<PageRun> expectedOrder = codec == CodecId.NONE ? workingSet : PageRun.inAddressOrder(workingSet);
                assertEquals(pagesOf(expectedOrder), pagesOf(reader.prefetchOrder()));
                for (FrameInfo frame : reader.frames()) {
                    assertTrue(frame.pageCount() <= (codec == CodecId.NONE ? 256 : 512), "frame of " + frame.pageCount() + " pages");
                    if (codec == CodecId.NONE) {
                        assertTrue(!frame.compressed(), "a raw working set stores raw frames");
                    }
                }
                MemorySegment page = arena.allocate(4096);
                for (PageRun run : workingSet) {
                    reader.readPage(run.firstPage(), page);
                    assertEquals(-1, page.mismatch(original.asSlice(run.firstPage() * 4096, 4096)), "page " + run.firstPage());
                }
            }
        }
        assertTrue(sizes[1] * 2 < sizes[0], "compressed " + sizes[1] + " bytes vs raw " + sizes[0]);
    }

    private static List<Long> pagesOf(List<PageRun> runs) {
        List<Long> pages = new ArrayList<>();
        for (PageRun run : runs) {
            for (long p = run.firstPage(); p < run.endPage(); p++) {
                pages.add(p);
            }
        }
        return pages;
    }

    @Test
    void theLiteralModeAppliesOnlyToOnePageZstdFrames() throws IOException {
        List<PageRun> first64MiB = List.of(new PageRun(0, 16384));
        java.util.Map<String, Long> sizes = new java.util.LinkedHashMap<>();
        for (PackPolicy policy : List.of(PackPolicy.PAGE, PackPolicy.FIXED)) {
            for (PackOptions.Literals literals : List.of(PackOptions.Literals.AUTO, PackOptions.Literals.HUFFMAN)) {
                Path snap = dir.resolve(policy.label() + "-" + literals + ".sabre");
                PackOptions options = PackOptions.defaults().withPolicy(policy, 16).withLiterals(literals).withPages(first64MiB);
                assertEquals(policy == PackPolicy.PAGE && literals == PackOptions.Literals.AUTO, options.rawLiterals());
                try (MemoryImage image = MemoryImage.open(raw, 4096, null)) {
                    Packer.pack(image, snap, options, null);
                }
                sizes.put(policy.label() + "-" + literals, Files.size(snap));
                try (SnapshotReader reader = SnapshotReader.open(snap)) {
                    MemorySegment page = arena.allocate(4096);
                    for (long p = 0; p < 16384; p += 7) {
                        reader.readPage(p, page);
                        assertEquals(-1, page.mismatch(original.asSlice(p * 4096, 4096)), "page " + p);
                    }
                }
            }
        }
        // Raw literals cost bytes in one-page frames; larger frames keep Huffman literals under AUTO.
        assertTrue(sizes.get("page-AUTO") > sizes.get("page-HUFFMAN") * 1.03, sizes.toString());
        assertEquals(sizes.get("fixed-AUTO"), sizes.get("fixed-HUFFMAN"), sizes.toString());
        assertTrue(!PackOptions.defaults().withCodec(dev.sabre.codec.CodecId.LZ4, 1).rawLiterals(), "lz4 has no such choice");
    }
}
