package dev.sabre.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.codec.CodecId;
import dev.sabre.format.CorruptSnapshotException;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.Memory;
import dev.sabre.linux.Userfaultfd;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Restores the real shared snapshot, packed every way, into memory and into userfaultfd-registered memory. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class RestoreEngineTest {

    @ParameterizedTest(name = "{0} {1} {2} pages, direct={3}")
    @CsvSource({"ZSTD, fixed, 16, false", "LZ4, partition, 64, true", "DEFLATE, single, 16, false",
            "NONE, passthrough, 256, true", "ZSTD, page, 1, true"})
    void restoresEveryByteIntoMemory(CodecId codec, String policy, int framePages, boolean direct) throws IOException {
        Path snapshot = TestSnapshots.packed(codec, PackPolicy.parse(policy), framePages);
        try (Arena arena = Arena.ofShared(); FileChannel file = FileChannel.open(TestSnapshots.memory(), StandardOpenOption.READ)) {
            MemorySegment expected = file.map(FileChannel.MapMode.READ_ONLY, 0, file.size(), arena);
            MemorySegment target = Memory.mapAnonymous(file.size());
            try {
                Memory.fill(target, (byte) 0x5a); // zero pages must really be written
                RestoreMetrics m = RestoreEngine.restore(snapshot, new MemoryInstaller(target),
                        RestoreOptions.defaults().withThreads(3).withDirectIo(direct));
                assertEquals(0, Memory.compare(expected, target), "restored memory differs from the source");
                assertEquals(file.size(), m.bytesInstalled());
                assertTrue(m.totalUs() > 0 && m.readInfoUs() > 0, m.toLine());
            } finally {
                Memory.munmap(target);
            }
        }
    }

    @Test
    void installsIntoRegisteredMemoryWithOneCopyPerRun() throws IOException {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        try (Arena arena = Arena.ofShared(); FileChannel file = FileChannel.open(TestSnapshots.memory(), StandardOpenOption.READ);
             Userfaultfd uffd = Userfaultfd.create(true, false); SnapshotReader reader = SnapshotReader.open(snapshot)) {
            MemorySegment expected = file.map(FileChannel.MapMode.READ_ONLY, 0, file.size(), arena);
            uffd.api(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE);
            MemorySegment guest = Memory.mapAnonymous(file.size());
            try {
                uffd.register(guest.address(), guest.byteSize(), Userfaultfd.UFFDIO_REGISTER_MODE_MISSING);
                UffdInstaller installer = new UffdInstaller(uffd, GuestLayout.single(guest.address(), guest.byteSize()),
                        new RemovedPages(4096), 4096);
                try (RestoreEngine engine = RestoreEngine.start(reader, installer, RestoreOptions.defaults())) {
                    RestoreMetrics m = engine.await();
                    assertEquals(file.size(), m.bytesInstalled(), m.toLine());
                    assertTrue(engine.plan().copyRuns() < reader.frames().size() * 2L);
                }
                // Unregister before reading: a page the engine missed then reads as zeros instead of hanging.
                uffd.unregister(guest.address(), guest.byteSize());
                assertEquals(0, Memory.compare(expected, guest));
            } finally {
                Memory.munmap(guest);
            }
        }
    }

    @Test
    void servesSinglePagesFromEveryKindOfSource() throws IOException {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        try (Arena arena = Arena.ofShared(); FileChannel file = FileChannel.open(TestSnapshots.memory(), StandardOpenOption.READ);
             PageSource raw = PageSource.open(TestSnapshots.memory()); PageSource packed = PageSource.open(snapshot)) {
            assertTrue(raw instanceof RawMemoryPages && packed instanceof SnapshotPages);
            MemorySegment expected = file.map(FileChannel.MapMode.READ_ONLY, 0, file.size(), arena);
            MemorySegment target = Memory.mapAnonymous(file.size());
            try {
                MemoryInstaller installer = new MemoryInstaller(target);
                for (long page = 0; page < file.size() / 4096; page += 7) {
                    (page % 2 == 0 ? raw : packed).serve(page, installer);
                    assertEquals(0, Memory.compare(expected.asSlice(page * 4096, 4096), target.asSlice(page * 4096, 4096)),
                            "page " + page);
                }
            } finally {
                Memory.munmap(target);
            }
        }
    }

    @Test
    void corruptFrameIsRefusedBeforeItsBytesAreInstalled(@TempDir Path dir) throws IOException {
        Path snapshot = dir.resolve("corrupt.sabre");
        Files.copy(TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16), snapshot);
        long victim;
        int frame;
        try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
            frame = reader.frames().size() / 2;
            victim = reader.frames().get(frame).offset() + 10;
        }
        try (FileChannel ch = FileChannel.open(snapshot, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            ch.read(b, victim);
            b.put(0, (byte) (b.get(0) ^ 0x40)).rewind();
            ch.write(b, victim);
        }
        long size = Files.size(TestSnapshots.memory());
        MemorySegment target = Memory.mapAnonymous(size);
        try {
            Memory.fill(target, (byte) 0x77);
            CorruptSnapshotException e = assertThrows(CorruptSnapshotException.class, () -> RestoreEngine.restore(
                    snapshot, new MemoryInstaller(target), RestoreOptions.defaults().withThreads(1)));
            assertTrue(e.getMessage().contains("frame " + frame), e.getMessage());
            // The frame's pages kept their old contents: not one corrupt byte was installed.
            try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
                for (var extent : reader.extents()) {
                    if (extent.kind() == dev.sabre.format.PageKind.STORED && extent.frame() == frame) {
                        MemorySegment page = target.asSlice(extent.firstPage() * 4096, 4096);
                        assertEquals(0x77, page.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0) & 0xff);
                    }
                }
            }
        } finally {
            Memory.munmap(target);
        }
    }

    /** Counts installs in progress at once; optionally holds the first copy until released. */
    private static final class WatchedInstaller implements Installer {
        final MemoryInstaller target;
        final java.util.concurrent.atomic.AtomicInteger inside = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.List<Long> offsets = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        final java.util.concurrent.CountDownLatch firstCopy = new java.util.concurrent.CountDownLatch(1);
        final java.util.concurrent.CountDownLatch release;

        WatchedInstaller(MemorySegment memory, boolean hold) {
            this.target = new MemoryInstaller(memory);
            this.release = new java.util.concurrent.CountDownLatch(hold ? 1 : 0);
        }

        @Override
        public long copy(long offset, MemorySegment data) throws IOException {
            most.accumulateAndGet(inside.incrementAndGet(), Math::max);
            try {
                offsets.add(offset);
                firstCopy.countDown();
                release.await();
                java.util.concurrent.locks.LockSupport.parkNanos(20_000); // widen the window for overlaps
                return target.copy(offset, data);
            } catch (InterruptedException e) {
                throw new IOException(e);
            } finally {
                inside.decrementAndGet();
            }
        }

        @Override
        public long zero(long offset, long length) throws IOException {
            return target.zero(offset, length);
        }
    }

    @Test
    void oDirectReadsOverlapButComputeStaysWithinItsCores() throws IOException {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        MemorySegment target = Memory.mapAnonymous(Files.size(TestSnapshots.memory()));
        try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
            WatchedInstaller installer = new WatchedInstaller(target, false);
            RestoreOptions options = RestoreOptions.defaults().withThreads(1).withDirectIo(true);
            assertEquals(2, options.workers(), "a second worker keeps a read in flight");
            try (RestoreEngine engine = RestoreEngine.start(reader, installer, options)) {
                engine.await();
            }
            assertEquals(1, installer.most.get(), "installs ran on more cores than the restore was given");
        } finally {
            Memory.munmap(target);
        }
    }

    @Test
    void aPrioritizedChunkIsTakenNextAndCancelStopsTheRestore() throws Exception {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        MemorySegment target = Memory.mapAnonymous(Files.size(TestSnapshots.memory()));
        try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
            WatchedInstaller installer = new WatchedInstaller(target, true);
            try (RestoreEngine engine = RestoreEngine.start(reader, installer, RestoreOptions.defaults().withThreads(1))) {
                RestorePlan plan = engine.plan();
                assertTrue(installer.firstCopy.await(60, TimeUnit.SECONDS), "the restore never started");
                // The one worker is inside chunk 0: the last chunk must come right after it.
                RestorePlan.Run wanted = plan.chunks().getLast().runs().getFirst();
                engine.prioritize(wanted.firstPage());
                installer.release.countDown();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                int chunk0Runs = plan.chunks().getFirst().runs().size();
                while (installer.offsets.size() <= chunk0Runs && System.nanoTime() < deadline) {
                    Thread.sleep(1);
                }
                engine.cancel();
                assertEquals(wanted.firstPage() * 4096, installer.offsets.get(chunk0Runs), "the prioritized chunk came next");
                IOException e = assertThrows(IOException.class, engine::await);
                assertTrue(e.getMessage().contains("cancelled"), e.getMessage());
                assertTrue(installer.offsets.size() < plan.copyRuns(), "cancel stopped the restore early");
            }
        } finally {
            Memory.munmap(target);
        }
    }
}
