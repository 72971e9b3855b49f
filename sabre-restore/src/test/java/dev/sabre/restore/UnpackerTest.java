package dev.sabre.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.codec.CodecId;
import dev.sabre.format.CorruptSnapshotException;
import dev.sabre.format.Extent;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.Progress;
import dev.sabre.format.SnapshotFormat;
import dev.sabre.format.SnapshotHeader;
import dev.sabre.format.SnapshotReader;
import dev.sabre.format.SnapshotWriter;
import dev.sabre.linux.Fds;
import dev.sabre.linux.FileIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Unpacking and verifying run on the restore engine: the real snapshot back to its bytes, and the failures. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class UnpackerTest {
    @TempDir
    Path dir;

    @Test
    void unpacksTheRealSnapshotByteIdenticalAndSparse() throws IOException {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        Path back = dir.resolve("memory.back");
        AtomicLong decoded = new AtomicLong();
        try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
            long written = Unpacker.unpack(reader, back, RestoreOptions.defaults().withThreads(2),
                    (phase, done, total) -> decoded.accumulateAndGet(done, Math::max));
            assertEquals(reader.stats().rawFrameBytes(), decoded.get(), "progress reaches every decoded byte");
            assertEquals((reader.stats().storedPages() + reader.stats().copyPages()) * 4096, written);
        }
        assertEquals(-1, Files.mismatch(TestSnapshots.memory(), back), "unpacked file differs from the original");
        int fd = FileIo.open(back, FileIo.O_RDONLY | FileIo.O_CLOEXEC);
        try {
            long firstHole = FileIo.lseek(fd, 0, FileIo.SEEK_HOLE);
            assertTrue(firstHole < Files.size(back), "zero pages are holes, yet the first hole is at the end, " + firstHole);
        } finally {
            Fds.close(fd);
        }
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(back), left.toList(), "no temporary file is left behind");
        }
    }

    @Test
    void aCorruptFrameFailsVerifyAndLeavesNoUnpackedFile() throws IOException {
        Path snapshot = dir.resolve("corrupt.sabre");
        Files.copy(TestSnapshots.packed(CodecId.LZ4, PackPolicy.PARTITION, 64), snapshot);
        int frame;
        try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
            assertEquals(reader.frames().size(), RestoreEngine.verify(reader, RestoreOptions.defaults(), Progress.NONE));
            frame = reader.frames().size() - 1;
            long victim = reader.frames().get(frame).offset() + 3;
            try (FileChannel ch = FileChannel.open(snapshot, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.allocate(1);
                ch.read(b, victim);
                ch.write(b.put(0, (byte) (b.get(0) ^ 1)).rewind(), victim);
            }
        }
        try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
            CorruptSnapshotException e = assertThrows(CorruptSnapshotException.class,
                    () -> RestoreEngine.verify(reader, RestoreOptions.defaults(), Progress.NONE));
            assertTrue(e.getMessage().startsWith(snapshot.toString()) && e.getMessage().contains("frame " + frame), e.getMessage());
            Path out = dir.resolve("out.mem");
            assertThrows(CorruptSnapshotException.class, () -> Unpacker.unpack(reader, out, RestoreOptions.defaults(), Progress.NONE));
            try (Stream<Path> left = Files.list(dir)) {
                assertEquals(List.of(snapshot), left.toList(), "nothing half-written is left behind");
            }
        }
    }

    @Test
    void aMemoryTooLargeForTheFileSystemIsRefusedNamingTheFile() throws IOException {
        // A valid snapshot of 2^48 bytes of zeros: ext4 files end at 16 TiB, so the output cannot hold it.
        Path snapshot = dir.resolve("huge.sabre");
        SnapshotHeader header = new SnapshotHeader(1, 4096, SnapshotFormat.MAX_MEMORY_SIZE, CodecId.ZSTD, 3, 16,
                PackPolicy.FIXED, 1, 2);
        try (SnapshotWriter writer = new SnapshotWriter(snapshot, header, 0)) {
            writer.finish(List.of(Extent.zero(0, 1)), List.of());
        }
        Path out = dir.resolve("huge.mem");
        try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
            IOException e = assertThrows(IOException.class,
                    () -> Unpacker.unpack(reader, out, RestoreOptions.defaults(), Progress.NONE));
            assertTrue(e.getMessage().startsWith(out + ": cannot hold the snapshot's 281474976710656 bytes"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(snapshot), left.toList(), "nothing half-written is left behind");
        }
    }
}
