package dev.sabre.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.sabre.codec.Codec;
import dev.sabre.codec.CodecId;
import dev.sabre.codec.Codecs;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input of every kind gives a {@link CorruptSnapshotException} naming the file and what is wrong:
 * truncation at every length, a flipped byte at every offset, and hand-made hostile files whose
 * checksums are valid but whose structure lies.
 */
@Timeout(600) // a guard against a hang, not a speed target: it decodes about 40,000 damaged copies
class CorruptionTest {
    @TempDir
    Path dir;
    Path good;
    byte[] goodBytes;

    /** Small enough to flip every byte of it, large enough for several frames, copies and zero runs. */
    static final int PAGES = 48;

    @BeforeEach
    void packSmallSnapshot() throws IOException {
        Path mem = dir.resolve("mixed.mem");
        SyntheticMemory.MIXED.write(mem);
        try (var channel = java.nio.channels.FileChannel.open(mem, java.nio.file.StandardOpenOption.WRITE)) {
            channel.truncate(PAGES * 4096L);
        }
        good = dir.resolve("good.sabre");
        // A prefetch order and small frames so that every section is present and several frames exist.
        PackOptions options = PackOptions.defaults().withPolicy(PackPolicy.FIXED, 4)
                .withPrefetch(List.of(new PageRun(30, 3), new PageRun(2, 1)));
        try (MemoryImage image = MemoryImage.open(mem, 4096, null)) {
            Packer.pack(image, good, options, null);
        }
        goodBytes = Files.readAllBytes(good);
    }

    /** Opens and fully verifies {@code file}, expecting a corruption error; returns its message. */
    private String expectCorrupt(Path file) {
        try (SnapshotReader reader = SnapshotReader.open(file)) {
            reader.checkAllFrames();
        } catch (CorruptSnapshotException e) {
            assertTrue(e.getMessage().startsWith(file.toString()), "message must name the file: " + e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
            return e.getMessage();
        } catch (Throwable t) {
            fail("expected CorruptSnapshotException for " + file + ", got " + t, t);
        }
        return fail("corruption of " + file + " went unnoticed");
    }

    @Test
    void theUntouchedFileIsValid() throws IOException {
        try (SnapshotReader reader = SnapshotReader.open(good)) {
            assertTrue(reader.checkAllFrames() > 3);
            assertEquals(2, reader.prefetchOrder().size());
        }
    }

    @Test
    void everyTruncationIsDetected() throws IOException {
        Path cut = dir.resolve("cut.sabre");
        for (int length = 0; length < goodBytes.length; length++) {
            Files.write(cut, Arrays.copyOf(goodBytes, length));
            String message = expectCorrupt(cut);
            if (length >= SnapshotFormat.HEADER_SIZE + SnapshotFormat.FOOTER_SIZE) {
                assertTrue(message.contains("truncated") || message.contains("magic"), message);
            }
        }
    }

    @Test
    void anExtendedFileIsDetected() throws IOException {
        Path longer = dir.resolve("longer.sabre");
        Files.write(longer, Arrays.copyOf(goodBytes, goodBytes.length + 4096));
        assertTrue(expectCorrupt(longer).contains("magic"));
    }

    @Test
    void everyFlippedByteIsDetected() throws IOException {
        Path flipped = dir.resolve("flipped.sabre");
        for (int at = 0; at < goodBytes.length; at++) {
            for (int mask : new int[] {0x01, 0x80}) {
                byte[] bytes = goodBytes.clone();
                bytes[at] ^= (byte) mask;
                Files.write(flipped, bytes);
                expectCorrupt(flipped);
            }
        }
    }

    @Test
    void notASnapshotIsNamedAsSuch() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.txt"), "hello, this is not a snapshot at all ".repeat(10));
        assertTrue(expectCorrupt(text).contains("not a Sabre snapshot"));
        assertTrue(expectCorrupt(Files.write(dir.resolve("empty"), new byte[0])).contains("truncated"));
    }

    private String hostile(Consumer<SnapshotSurgeon> edit) throws IOException {
        SnapshotSurgeon surgeon = new SnapshotSurgeon(good);
        edit.accept(surgeon);
        return expectCorrupt(surgeon.fixChecksums().write(dir.resolve("hostile.sabre")));
    }

    @Test
    void absurdHeaderFieldsAreNamed() throws IOException {
        assertTrue(hostile(s -> s.putInt(8, 99)).contains("version"));
        assertTrue(hostile(s -> s.putInt(12, 4097)).contains("page_size"));
        assertTrue(hostile(s -> s.putInt(12, 1 << 31)).contains("page_size"));
        assertTrue(hostile(s -> s.putLong(16, 1L << 60)).contains("memory_size"));
        assertTrue(hostile(s -> s.putLong(16, -4096)).contains("memory_size"));
        assertTrue(hostile(s -> s.putLong(16, 4096 * 10 + 1)).contains("memory_size"));
        assertTrue(hostile(s -> s.putInt(24, 77)).contains("codec"));
        assertTrue(hostile(s -> s.putInt(28, 1000)).contains("level"));
        assertTrue(hostile(s -> s.putInt(32, 1 << 30)).contains("frame_pages"));
        assertTrue(hostile(s -> s.putInt(36, 12)).contains("policy"));
        assertTrue(hostile(s -> s.putInt(56, 1)).contains("flags"));
    }

    @Test
    void absurdFooterFieldsAreNamed() throws IOException {
        assertTrue(hostile(s -> s.putLong(s.footerAt(), 1L << 62)).contains("frame_table_offset"));
        assertTrue(hostile(s -> s.putLong(s.footerAt() + 8, Long.MAX_VALUE / 3)).contains("frame_count"));
        assertTrue(hostile(s -> s.putLong(s.footerAt() + 24, 1L << 40)).contains("extent_count"));
        assertTrue(hostile(s -> s.putLong(s.footerAt() + 40, -1)).contains("prefetch_count"));
        assertTrue(hostile(s -> s.putLong(s.footerAt() + 32, 0)).contains("prefetch_offset"));
    }

    @Test
    void aPageMapPointingOutsideTheMemoryIsRejected() throws IOException {
        String m = hostile(s -> s.putLong(s.extentEntry((int) s.footerLong(24) - 1), PAGES));
        assertTrue(m.contains("outside the memory"), m);
        m = hostile(s -> s.putInt(s.extentEntry(0) + 8, Integer.MAX_VALUE));
        assertTrue(m.contains("page map entry 0"), m);
    }

    @Test
    void aPageMapPointingAtAMissingFrameIsRejected() throws IOException {
        String m = hostile(s -> {
            for (int e = 0; ; e++) {
                if (s.bytes.getShort(s.extentEntry(e) + 12) == 2) {
                    s.putLong(s.extentEntry(e) + 16, 1000L << 32);
                    return;
                }
            }
        });
        assertTrue(m.contains("slots " + (1000L << 32)) && m.contains("do not exist"), m);
    }

    @Test
    void unknownKindsOverlapsAndBadCopiesAreRejected() throws IOException {
        assertTrue(hostile(s -> s.putShort(s.extentEntry(0) + 12, (short) 9)).contains("kind"));
        assertTrue(hostile(s -> s.putLong(s.extentEntry(1), s.bytes.getLong(s.extentEntry(0)))).contains("overlapping"));
        String m = hostile(s -> {
            long zeroPage = -1;
            for (int e = 0; zeroPage < 0; e++) {
                if (s.bytes.getShort(s.extentEntry(e) + 12) == 1) {
                    zeroPage = s.bytes.getLong(s.extentEntry(e));
                }
            }
            for (int e = 0; ; e++) {
                if (s.bytes.getShort(s.extentEntry(e) + 12) == 3) {
                    s.putLong(s.extentEntry(e) + 16, zeroPage); // a copy of a zero page
                    return;
                }
            }
        });
        assertTrue(m.contains("not all in one stored extent"), m);
    }

    @Test
    void framesWithBadOffsetsOrSizesAreRejected() throws IOException {
        assertTrue(hostile(s -> s.putLong(s.frameEntry(1), 65)).contains("frame 1"));
        assertTrue(hostile(s -> s.putInt(s.frameEntry(0) + 12, 0)).contains("page_count"));
        assertTrue(hostile(s -> s.putInt(s.frameEntry(0) + 20, 7)).contains("encoding"));
        assertTrue(hostile(s -> s.putInt(s.frameEntry(0) + 8, 1 << 30)).contains("frame 0"));
    }

    @Test
    void aPrefetchOfAnAbsentOrOutsidePageIsRejected() throws IOException {
        assertTrue(hostile(s -> s.putLong(s.prefetchEntry(0), PAGES + 5)).contains("prefetch entry 0"));
        assertTrue(hostile(s -> s.putInt(s.prefetchEntry(1) + 8, 0)).contains("prefetch entry 1"));
    }

    @Test
    void aFrameThatDecodesToTheWrongSizeIsRejected() throws IOException {
        // A well-formed file whose only frame claims two pages but whose stream holds one.
        Path file = dir.resolve("short-frame.sabre");
        SnapshotHeader header = new SnapshotHeader(1, 4096, 4096 * 4, CodecId.ZSTD, 3, 2, PackPolicy.FIXED, 1, 2);
        Codec codec = Codecs.create(CodecId.ZSTD, 3);
        byte[] page = SyntheticMemory.text(new java.util.Random(1), 1);
        byte[] out = new byte[codec.maxCompressedLength(page.length)];
        int length = codec.compress(page, out);
        try (SnapshotWriter writer = new SnapshotWriter(file, header, 1)) {
            writer.addFrame(MemorySegment.ofArray(Arrays.copyOf(out, length)), 2, true);
            writer.finish(List.of(Extent.stored(1, 2, 0, 0)), List.of());
        }
        String m = expectCorrupt(file);
        assertTrue(m.contains("frame 0") && m.contains("decoded to 4096 bytes, expected 8192"), m);
    }

    @Test
    void aFailedPackLeavesNoFileBehind() throws IOException {
        Path mem = dir.resolve("mixed.mem");
        Path out = dir.resolve("never.sabre");
        List<Path> before;
        try (Stream<Path> files = Files.list(dir)) {
            before = files.sorted().toList();
        }
        try (MemoryImage image = MemoryImage.open(mem, 4096, null)) {
            PackOptions badList = PackOptions.defaults().withPages(List.of(new PageRun(3, 2), new PageRun(PAGES, 1)));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Packer.pack(image, out, badList, null));
            assertTrue(e.getMessage().contains("outside the memory"), e.getMessage());
            // A writer abandoned halfway (e.g. the disk filled up) removes its temporary file.
            SnapshotHeader header = new SnapshotHeader(1, 4096, 4096 * 4, CodecId.NONE, 0, 1, PackPolicy.PAGE, 1, 2);
            try (SnapshotWriter writer = new SnapshotWriter(out, header, 4)) {
                writer.addFrame(MemorySegment.ofArray(new byte[4096]), 1, false);
            }
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(before, files.sorted().toList());
        }
    }
}
