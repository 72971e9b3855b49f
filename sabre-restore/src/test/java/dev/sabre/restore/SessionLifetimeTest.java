package dev.sabre.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.codec.CodecId;
import dev.sabre.format.Datasets;
import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.Packer;
import dev.sabre.linux.Memory;
import dev.sabre.linux.Userfaultfd;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A handler serves one VMM session after another for as long as it runs: what a session allocates to
 * serve faults (decoded frames, stored bytes) must end with the session, not wait for the garbage
 * collector. Each session here is what the handler's is, minus the handshake: a thread of its own, a
 * page source opened on a real snapshot (a 32 MiB slice of the shared guest memory, packed with each
 * policy), faults served into real userfaultfd-registered memory with UFFDIO_COPY, bytes checked, then
 * the source closed.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class SessionLifetimeTest {
    private static final long SLICE = 32L << 20;
    private static final int SESSIONS = 1000;
    private static final int FAULTS = 32;

    @TempDir
    static Path dir;
    private static Path memory;

    @BeforeAll
    static void slice() throws IOException {
        memory = dir.resolve("slice.mem");
        try (InputStream in = Files.newInputStream(Datasets.memoryFile(TestSnapshots.DATASET));
             OutputStream out = Files.newOutputStream(memory)) {
            out.write(in.readNBytes((int) SLICE));
        }
    }

    @ParameterizedTest
    @EnumSource(PackPolicy.class)
    void aThousandSequentialSessionsDoNotGrowResidentMemory(PackPolicy policy) throws Exception {
        Path snapshot = dir.resolve(policy.label() + ".sabre");
        CodecId codec = policy == PackPolicy.PASSTHROUGH ? CodecId.NONE : CodecId.ZSTD;
        try (MemoryImage image = MemoryImage.open(memory, 4096, null)) {
            Packer.pack(image, snapshot, PackOptions.defaults().withCodec(codec, codec == CodecId.NONE ? 0 : 3)
                    .withPolicy(policy, 64), null);
        }
        try (Arena arena = Arena.ofShared(); FileChannel file = FileChannel.open(memory, StandardOpenOption.READ)) {
            MemorySegment expected = file.map(FileChannel.MapMode.READ_ONLY, 0, SLICE, arena);
            long afterTenth = 0;
            for (int s = 1; s <= SESSIONS; s++) {
                runSession(snapshot, null, expected, new Random(s));
                if (s == 10) {
                    afterTenth = residentBytes();
                }
            }
            long afterLast = residentBytes();
            System.out.printf("%s: RSS after session 10: %d MiB, after session %d: %d MiB (%.2fx)%n", policy.label(),
                    afterTenth >> 20, SESSIONS, afterLast >> 20, (double) afterLast / afterTenth);
            assertTrue(afterLast <= afterTenth * 1.2, "RSS grew from %d MiB after 10 sessions to %d MiB after %d"
                    .formatted(afterTenth >> 20, afterLast >> 20, SESSIONS));
        }
    }

    /**
     * A handler opens its snapshot once and serves every VMM from it, each on a thread of its own: a
     * session's frame cache must end with its thread, not pile up until the handler stops. One stream over
     * the whole slice (policy single) is the worst case: every cache holds that one large frame.
     */
    @Test
    void sessionsSharingOneSourceFreeTheirCachesWhenTheirThreadsEnd() throws Exception {
        Path snapshot = dir.resolve("shared-single.sabre");
        try (MemoryImage image = MemoryImage.open(memory, 4096, null)) {
            Packer.pack(image, snapshot, PackOptions.defaults().withPolicy(PackPolicy.SINGLE, 64), null);
        }
        try (Arena arena = Arena.ofShared(); FileChannel file = FileChannel.open(memory, StandardOpenOption.READ);
             SnapshotPages shared = SnapshotPages.open(snapshot, null)) {
            MemorySegment expected = file.map(FileChannel.MapMode.READ_ONLY, 0, SLICE, arena);
            long afterTenth = 0;
            for (int s = 1; s <= SESSIONS / 4; s++) {
                runSession(snapshot, shared, expected, new Random(s));
                if (s == 10) {
                    afterTenth = residentBytes();
                }
                // Only the last session's cache may still be mapped: every earlier thread has ended.
                long oneCache = shared.reader().frameBytes(0) + shared.reader().maxStoredBytes();
                assertTrue(shared.cachedBytes() <= oneCache, "after session " + s + ": " + shared.cachedBytes()
                        + " bytes cached, one session's cache is at most " + oneCache);
            }
            long afterLast = residentBytes();
            assertTrue(afterLast <= afterTenth * 1.2, "RSS grew from %d MiB after 10 sessions to %d MiB after %d"
                    .formatted(afterTenth >> 20, afterLast >> 20, SESSIONS / 4));
        }
    }

    /**
     * One session on a thread of its own: serve random faults into registered memory from {@code shared}
     * (or from a source of its own, opened and closed here, when null), check every page.
     */
    private static void runSession(Path snapshot, SnapshotPages shared, MemorySegment expected, Random random)
            throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread session = Thread.ofPlatform().start(() -> {
            MemorySegment guest = null;
            SnapshotPages own = null;
            try (Userfaultfd uffd = Userfaultfd.create(true, false)) {
                own = shared == null ? SnapshotPages.open(snapshot, null) : null;
                SnapshotPages pages = shared != null ? shared : own;
                uffd.api(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE);
                guest = Memory.mapAnonymous(SLICE);
                uffd.register(guest.address(), SLICE, Userfaultfd.UFFDIO_REGISTER_MODE_MISSING);
                UffdInstaller installer = new UffdInstaller(uffd, GuestLayout.single(guest.address(), SLICE),
                        new RemovedPages(4096), 4096);
                long[] served = new long[FAULTS];
                for (int i = 0; i < FAULTS; i++) {
                    served[i] = random.nextLong(SLICE / 4096);
                    pages.serve(served[i], installer);
                }
                uffd.unregister(guest.address(), SLICE); // a page not installed now reads as zeros, not a hang
                for (long page : served) {
                    assertEquals(-1, guest.asSlice(page * 4096, 4096).mismatch(expected.asSlice(page * 4096, 4096)), "page " + page);
                }
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                if (own != null) {
                    try {
                        own.close();
                    } catch (IOException e) {
                        failure.compareAndSet(null, e);
                    }
                }
                if (guest != null) {
                    try {
                        Memory.munmap(guest);
                    } catch (IOException e) {
                        failure.compareAndSet(null, e);
                    }
                }
            }
        });
        session.join();
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
    }

    @Test
    void aClosedSourceRefusesToServe() throws IOException {
        Path snapshot = dir.resolve("closed.sabre");
        try (MemoryImage image = MemoryImage.open(memory, 4096, null)) {
            Packer.pack(image, snapshot, PackOptions.defaults(), null);
        }
        MemorySegment target = Memory.mapAnonymous(SLICE);
        try {
            SnapshotPages pages = SnapshotPages.open(snapshot, null);
            long stored = 0;
            while (pages.reader().kindOf(stored) != dev.sabre.format.PageKind.STORED) {
                stored++;
            }
            MemoryInstaller installer = new MemoryInstaller(target);
            pages.serve(stored, installer);
            assertTrue(pages.cachedBytes() > 0, "a served frame is cached");
            pages.close();
            assertEquals(0, pages.cachedBytes(), "closing frees every cache");
            long page = stored;
            assertThrows(IOException.class, () -> pages.serve(page, installer));
        } finally {
            Memory.munmap(target);
        }
    }

    private static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("/proc/self/status has no VmRSS line");
    }
}
