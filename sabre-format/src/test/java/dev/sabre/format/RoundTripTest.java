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
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every synthetic memory, through every codec and policy: pack, unpack, restore and random reads are byte-identical. */
class RoundTripTest {
    @TempDir
    Path dir;

    static Stream<Arguments> matrix() {
        List<Arguments> cases = new ArrayList<>();
        for (SyntheticMemory memory : SyntheticMemory.values()) {
            for (CodecId codec : CodecId.values()) {
                for (PackPolicy policy : PackPolicy.values()) {
                    if (codec == CodecId.NONE && policy != PackPolicy.PASSTHROUGH) {
                        continue; // passthrough is the uncompressed case
                    }
                    if (policy == PackPolicy.PASSTHROUGH && codec != CodecId.NONE) {
                        continue;
                    }
                    cases.add(Arguments.of(memory, codec, policy));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("matrix")
    void packsAndRestoresByteIdentical(SyntheticMemory memory, CodecId codec, PackPolicy policy) throws IOException {
        Path mem = dir.resolve("memory");
        List<long[]> extents = memory.write(mem);
        Path snap = dir.resolve("memory.sabre");
        PackOptions options = PackOptions.defaults().withCodec(codec, codec.defaultLevel()).withPolicy(policy, 5);
        Packer.Result result;
        try (MemoryImage image = MemoryImage.open(mem, SyntheticMemory.PAGE, extents)) {
            result = Packer.pack(image, snap, options, null);
        }
        SnapshotStats stats = result.stats();
        assertEquals(SyntheticMemory.PAGES, stats.memoryPages());
        try (SnapshotReader reader = SnapshotReader.open(snap)) {
            assertEquals(stats.frames(), reader.checkAllFrames());
            // 1. Read into memory frame by frame and compare (unpacking is sabre-restore's, tested there).
            try (Arena arena = Arena.ofShared(); FileChannel ch = FileChannel.open(mem, StandardOpenOption.READ)) {
                MemorySegment original = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                MemorySegment restored = arena.allocate(ch.size());
                RandomAccessRead.readAll(reader, restored);
                assertEquals(-1, restored.mismatch(original));
                // 2. Every page through random access.
                MemorySegment page = arena.allocate(SyntheticMemory.PAGE);
                for (long p = SyntheticMemory.PAGES - 1; p >= 0; p -= 7) {
                    if (reader.kindOf(p) == PageKind.ABSENT) {
                        assertEquals(SyntheticMemory.SPARSE_DIFF, memory, "only a sparse input has absent pages");
                        continue;
                    }
                    reader.readPage(p, page);
                    assertEquals(-1, page.mismatch(original.asSlice(p * SyntheticMemory.PAGE, SyntheticMemory.PAGE)), "page " + p);
                }
            }
            assertFrameBound(reader, policy);
        }
    }

    private static void assertFrameBound(SnapshotReader reader, PackPolicy policy) {
        for (FrameInfo frame : reader.frames()) {
            switch (policy) {
                case PAGE -> assertEquals(1, frame.pageCount());
                case FIXED, PARTITION, PASSTHROUGH -> assertTrue(frame.pageCount() <= 5);
                case SINGLE -> assertEquals(1, reader.frames().size());
            }
        }
    }
}
