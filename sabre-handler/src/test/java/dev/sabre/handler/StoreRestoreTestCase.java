package dev.sabre.handler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.format.PageRun;
import dev.sabre.format.SnapshotReader;
import dev.sabre.format.Progress;
import dev.sabre.store.PageInput;
import dev.sabre.store.Pusher;
import dev.sabre.store.SnapshotDisk;
import dev.sabre.store.SnapshotStore;
import dev.sabre.store.TestDisk;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Restores straight from a snapshot store (STORE.md) through the VMM-side test driver, with every strategy,
 * checking every byte of guest memory against the dataset; run against each backend ({@link StoreRestoreTest}).
 * The real memory is pushed twice: compressed ({@code python-json}) and raw ({@code python-json-raw}, as
 * {@code sabre store push --raw} does for REAP). Every restore starts from a cold host cache of its own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
abstract class StoreRestoreTestCase {
    static final List<PageRun> WORKING_SET = List.of(new PageRun(0, 512), new PageRun(4096, 700),
            new PageRun(60000, 300));
    static final String COMPRESSED = "python-json";
    static final String RAW = "python-json-raw";

    /** This class's files: the directory store, host caches, sockets; deleted after the last test. */
    Path dir;
    private int caches;

    /** The store's location on this backend (a directory or s3://bucket/prefix). */
    abstract String store();

    /** The S3 endpoint, or null for a directory. */
    abstract URI endpoint();

    @BeforeAll
    @Timeout(value = 10, unit = TimeUnit.MINUTES) // a hang guard: pushing 512 MiB twice takes minutes on a loaded machine
    void push() throws Exception {
        dir = Files.createTempDirectory("sabre-store-restore");
        startBackend();
        try (SnapshotStore s = SnapshotStore.open(store(), endpoint());
             PageInput in = PageInput.open(TestSnapshots.memory(), false)) {
            Pusher.push(s, in, WORKING_SET, COMPRESSED, Pusher.Options.defaults(), Progress.NONE);
            Pusher.push(s, in, WORKING_SET, RAW, Pusher.Options.defaults().raw(), Progress.NONE);
        }
    }

    /** Starts what the backend needs before the first push. */
    void startBackend() throws Exception {
    }

    @AfterAll
    void deleteFiles() throws IOException {
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    HandlerConfig config(Strategy strategy, String name) {
        return config(strategy, name, endpoint());
    }

    /** A handler serving {@code name} through {@code endpoint}, with a cold host cache of its own. */
    HandlerConfig config(Strategy strategy, String name, URI endpoint) {
        return HandlerConfig.of(dir.resolve("uffd.sock"), null, strategy).withStore(store() + "/" + name, endpoint)
                .withStoreCache(dir.resolve("cache-" + ++caches));
    }

    /** Every page of the memory, in address order. */
    static long[] everyPage() throws IOException {
        return LongStream.range(0, TestSnapshots.pageCount()).toArray();
    }

    static long[] workingSetPages() {
        return WORKING_SET.stream().flatMapToLong(r -> LongStream.range(r.firstPage(), r.endPage())).toArray();
    }

    /**
     * Restores {@code name} with {@code strategy} into a simulated VMM that touches the working set first (as
     * the guest that recorded it would) and then every page, each checked against the dataset.
     */
    SessionReport restoreAndCheckEveryPage(HandlerConfig config, ReportCheck check) throws Exception {
        try (RunningHandler running = RunningHandler.start(config)) {
            try (SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 2)) {
                SimulatedVmm.TouchResult ws = vmm.touch(workingSetPages(), 2);
                assertTrue(ws.ok(), ws.toString());
                SimulatedVmm.TouchResult all = vmm.touch(everyPage(), 2);
                assertTrue(all.ok(), all.toString());
            }
            SessionReport report = running.nextReport();
            assertEquals("VMM exited", report.outcome(), running.log());
            check.accept(report, running.log());
            return report;
        }
    }

    interface ReportCheck {
        void accept(SessionReport report, String log) throws IOException;
    }

    @Test
    void lazyServesEveryPageFromTheStore() throws Exception {
        restoreAndCheckEveryPage(config(Strategy.LAZY, COMPRESSED), (report, log) ->
                assertTrue(report.faults() >= TestSnapshots.pageCount() / 2, report.toLine()));
    }

    @Test
    void reapCompressedPrefetchesTheStoredWorkingSet() throws Exception {
        restoreAndCheckEveryPage(config(Strategy.REAP_COMPRESSED, COMPRESSED), (report, log) -> {
            assertNotNull(report.restore(), "the working set was prefetched");
            assertTrue(log.contains("working set from the store"), log);
        });
    }

    @Test
    void reapPrefetchesTheRawWorkingSetOfASnapshotPushedRaw() throws Exception {
        restoreAndCheckEveryPage(config(Strategy.REAP, RAW), (report, log) -> {
            assertNotNull(report.restore(), "the working set was prefetched");
            assertTrue(log.contains("working set from the store"), log);
        });
    }

    @Test
    void eachReapRefusesASnapshotPushedTheOtherWay() {
        var reap = assertThrows(IOException.class, () -> PageFaultHandler.start(config(Strategy.REAP, COMPRESSED)));
        assertTrue(reap.getMessage().contains("stored compressed with zstd") && reap.getMessage().contains("--raw"),
                reap.getMessage());
        var compressed = assertThrows(IOException.class,
                () -> PageFaultHandler.start(config(Strategy.REAP_COMPRESSED, RAW)));
        assertTrue(compressed.getMessage().contains("stored raw") && compressed.getMessage().contains("use reap"),
                compressed.getMessage());
    }

    @Test
    void eagerInstallsEveryPageFromTheStoreBeforeAnsweringAFault() throws Exception {
        restoreAndCheckEveryPage(config(Strategy.EAGER, COMPRESSED), (report, log) -> {
            assertNotNull(report.restore(), "the whole memory was restored");
            assertTrue(log.contains("every page from the store"), log);
            // Faults held until the restore ended are answered then; none is served by a fetch of its own.
            assertTrue(report.restore().bytesInstalled() >= TestSnapshots.pageCount() * 4096L / 2, report.toLine());
            // Each stored byte fetched once through a cold cache, and counted once: faults and engine share one counter.
            long stored;
            try (SnapshotStore s = SnapshotStore.open(store(), endpoint())) {
                stored = s.manifest(COMPRESSED).frameBytes();
            }
            assertEquals(stored, report.bytesRead(), report.toLine());
        });
    }

    @Test
    void sabreStreamsEveryPageFromTheStoreWhileTheGuestRuns() throws Exception {
        restoreAndCheckEveryPage(config(Strategy.SABRE, COMPRESSED), (report, log) -> {
            assertNotNull(report.restore(), "the whole memory was streamed in");
            assertTrue(log.contains("every page from the store"), log);
        });
    }

    @Test
    void sabreAndEagerAlsoRestoreARawSnapshot() throws Exception {
        restoreAndCheckEveryPage(config(Strategy.SABRE, RAW), (report, log) -> assertNotNull(report.restore()));
        restoreAndCheckEveryPage(config(Strategy.EAGER, RAW), (report, log) -> assertNotNull(report.restore()));
    }

    /**
     * The memory pushed with a disk image that holds some of its pages as blocks (STORE.md, "Disk frames"): every
     * strategy reads those from the image and the rest from the store, every byte checked.
     */
    @Test
    void everyStrategyReadsDiskFramesFromTheDiskImage() throws Exception {
        String location = store() + "-disk";
        Path disk = TestDisk.image(TestSnapshots.memory(), dir.resolve("rootfs.img"), 2000, 30000, 3);
        try (SnapshotStore s = SnapshotStore.open(location, endpoint()); PageInput in = PageInput.open(TestSnapshots.memory(), false);
             SnapshotDisk image = SnapshotDisk.open(disk)) {
            Pusher.Result r = Pusher.push(s, in, WORKING_SET, image, COMPRESSED, Pusher.Options.defaults(), Progress.NONE);
            assertTrue(r.pagesOnDisk() > 1000, r.pagesOnDisk() + " pages left on the image");
        }
        for (Strategy strategy : List.of(Strategy.LAZY, Strategy.EAGER, Strategy.SABRE, Strategy.REAP_COMPRESSED)) {
            HandlerConfig config = HandlerConfig.of(dir.resolve("uffd.sock"), null, strategy).withStore(location + "/" + COMPRESSED, endpoint())
                    .withStoreCache(dir.resolve("cache-" + ++caches)).withStoreDisk(disk);
            restoreAndCheckEveryPage(config, (report, log) -> { });
        }
        var missing = assertThrows(IOException.class, () -> PageFaultHandler.start(HandlerConfig.of(dir.resolve("uffd.sock"), null,
                Strategy.LAZY).withStore(location + "/" + COMPRESSED, endpoint()).withStoreCache(dir.resolve("cache-" + ++caches))));
        assertTrue(missing.getMessage().contains("--disk"), missing.getMessage());
    }

    @Test
    void reapRecordWritesTheWorkingSetOfAStoreSnapshotToALocalFile() throws Exception {
        long[] trace = LongStream.concat(LongStream.range(60000, 60300), LongStream.range(100, 400)).toArray();
        Path ws = dir.resolve("recorded-ws.sabre");
        try (RunningHandler running = RunningHandler.start(config(Strategy.REAP_RECORD, COMPRESSED).withWorkingSet(ws))) {
            try (SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 1)) {
                assertTrue(vmm.touch(trace, 1).ok());
            }
            SessionReport report = running.nextReport();
            assertEquals(ws, report.workingSet(), running.log());
        }
        try (SnapshotReader reader = SnapshotReader.open(ws); Arena arena = Arena.ofConfined();
             FileChannel dataset = FileChannel.open(TestSnapshots.memory())) {
            assertEquals(List.of(new PageRun(60000, 300), new PageRun(100, 300)), reader.prefetchOrder(),
                    "the working set in fault order");
            MemorySegment memory = dataset.map(FileChannel.MapMode.READ_ONLY, 0, dataset.size(), arena);
            MemorySegment page = arena.allocate(4096);
            for (long p : trace) {
                reader.readPage(p, page);
                assertEquals(-1, page.mismatch(memory.asSlice(p * 4096, 4096)), "recorded page " + p);
            }
        }
    }
}
