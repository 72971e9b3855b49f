package dev.sabre.handler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.codec.CodecId;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.PageRun;
import dev.sabre.linux.LinuxException;
import dev.sabre.format.SnapshotReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every strategy serving the real shared snapshot to a simulated VMM that touches pages sequentially,
 * randomly, in a recorded order and from several threads, with every touched byte checked.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class StrategiesTest {
    private static final int THREADS = 4;

    @TempDir
    Path dir;

    private static long[] randomPages(long pageCount, int n, long seed) {
        return TouchPatterns.randomPages(pageCount, n, seed);
    }

    private static long[] allPagesShuffled(long pageCount, long seed) {
        return TouchPatterns.allPagesShuffled(pageCount, seed);
    }

    /** Runs one VMM against {@code config}: touches {@code pages} from several threads, checks, disconnects. */
    private SessionReport runVmm(HandlerConfig config, long[]... touches) throws Exception {
        try (RunningHandler running = RunningHandler.start(config)) {
            try (SimulatedVmm vmm = SimulatedVmm.start(config.socket(), TestSnapshots.memory(), 1)) {
                for (long[] pages : touches) {
                    SimulatedVmm.TouchResult result = vmm.touch(pages, THREADS);
                    assertTrue(result.ok(), result + " with " + config.strategy() + "; log:\n" + running.log());
                }
            }
            SessionReport report = running.nextReport();
            assertEquals("VMM exited", report.outcome(), running.log());
            return report;
        }
    }

    private HandlerConfig config(Path memory, Strategy strategy) {
        return HandlerConfig.of(dir.resolve("uffd.sock"), memory, strategy);
    }

    @Test
    void lazyFromRawMemoryFile() throws Exception {
        long pages = TestSnapshots.pageCount();
        SessionReport r = runVmm(config(TestSnapshots.memory(), Strategy.LAZY),
                LongStream.range(0, 4096).toArray(), randomPages(pages, 4000, 1));
        assertTrue(r.faults() > 4096, r.toLine());
        assertTrue(r.p99Us() > 0 && r.maxUs() >= r.p99Us() && r.p99Us() >= r.p50Us(), r.toLine());
        assertTrue(Json.parse(r.toJson()) instanceof java.util.Map<?, ?> json && json.get("faults").equals(r.faults()),
                r.toJson());
    }

    @Test
    void lazyFromCompressedSnapshotDecodesOnlyTheFaultingFrames() throws Exception {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        SessionReport r = runVmm(config(snapshot, Strategy.LAZY), randomPages(TestSnapshots.pageCount(), 3000, 2));
        assertTrue(r.faults() > 0 && r.bytesRead() < 3000L * 65536, r.toLine());
    }

    @Test
    void eagerFromRawAndFromSnapshotInstallsEverythingOnTheFirstFault() throws Exception {
        for (Path memory : List.of(TestSnapshots.memory(), TestSnapshots.packed(CodecId.LZ4, PackPolicy.PARTITION, 64))) {
            SessionReport r = runVmm(config(memory, Strategy.EAGER), randomPages(TestSnapshots.pageCount(), 20000, 3));
            assertNotNull(r.restore(), r.toLine());
            assertTrue(r.restore().bytesInstalled() > 0 && r.faults() >= 1, r.toLine());
            assertTrue(r.faults() < 20000, "eager must not serve most pages one by one: " + r.toLine());
        }
    }

    @Test
    void sabreStreamsTheWholeSnapshotWhileTheGuestTouchesEveryPage() throws Exception {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        SessionReport r = runVmm(config(snapshot, Strategy.SABRE), allPagesShuffled(TestSnapshots.pageCount(), 4));
        assertNotNull(r.restore(), r.toLine());
        assertTrue(Json.parse(r.toJson()) instanceof java.util.Map<?, ?> json && json.get("restore") instanceof java.util.Map<?, ?>,
                r.toJson());
    }

    @Test
    void multiRegionHandshakeIsServedWithRunsSplitAtRegionBoundaries() throws Exception {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        for (Strategy strategy : List.of(Strategy.LAZY, Strategy.SABRE)) {
            try (RunningHandler running = RunningHandler.start(config(snapshot, strategy));
                 SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 3)) {
                assertEquals(3, vmm.regions().size());
                SimulatedVmm.TouchResult r = vmm.touch(allPagesShuffled(TestSnapshots.pageCount(), 5), THREADS);
                assertTrue(r.ok(), strategy + ": " + r + "\n" + running.log());
            }
        }
    }

    @Test
    void reapRecordThenReplayRawAndCompressed() throws Exception {
        long pageCount = TestSnapshots.pageCount();
        long[] trace = randomPages(pageCount, 3000, 6);
        Path rawWs = dir.resolve("ws.sabre");
        SessionReport recorded = runVmm(config(TestSnapshots.memory(), Strategy.REAP_RECORD).withWorkingSet(rawWs), trace);
        assertEquals(rawWs, recorded.workingSet(), recorded.toLine());
        Path zstdWs = dir.resolve("ws-zstd.sabre");
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        SessionReport compressedRecord = runVmm(config(snapshot, Strategy.REAP_RECORD).withWorkingSet(zstdWs)
                .withWorkingSetCodec(CodecId.ZSTD, 1), trace);
        assertEquals(zstdWs, compressedRecord.workingSet());

        try (SnapshotReader ws = SnapshotReader.open(rawWs); SnapshotReader cws = SnapshotReader.open(zstdWs)) {
            assertEquals(CodecId.NONE, ws.header().codec());
            assertEquals(CodecId.ZSTD, cws.header().codec());
            List<Long> order = new ArrayList<>();
            for (PageRun run : ws.prefetchOrder()) {
                for (long p = run.firstPage(); p < run.endPage(); p++) {
                    order.add(p);
                }
            }
            assertEquals(LongStream.of(trace).distinct().count(), order.size(), "one entry per distinct faulting page");
        }
        long[] beyond = randomPages(pageCount, 2000, 7);
        SessionReport reap = runVmm(config(TestSnapshots.memory(), Strategy.REAP).withWorkingSet(rawWs), trace, beyond);
        assertNotNull(reap.restore(), reap.toLine());
        SessionReport reapCompressed = runVmm(config(snapshot, Strategy.REAP_COMPRESSED).withWorkingSet(zstdWs), trace, beyond);
        assertNotNull(reapCompressed.restore(), reapCompressed.toLine());
    }

    @Test
    void removedPagesReadAsZerosEvenWhilePrefetchStreams() throws Exception {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        long pageCount = TestSnapshots.pageCount();
        for (Strategy strategy : List.of(Strategy.LAZY, Strategy.SABRE)) {
            try (RunningHandler running = RunningHandler.start(config(snapshot, strategy));
                 SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 1)) {
                assertTrue(vmm.touch(LongStream.range(0, 2048).toArray(), THREADS).ok());
                vmm.remove(100, 50);            // touched pages: dropped, then zero on the next touch
                vmm.remove(60000, 300);         // probably not yet streamed in: must never get snapshot data
                vmm.remove(pageCount - 64, 64);
                SimulatedVmm.TouchResult r = vmm.touch(allPagesShuffled(pageCount, 8), THREADS);
                assertTrue(r.ok(), strategy + ": " + r + "\n" + running.log());
                vmm.disconnect();
                SessionReport report = running.nextReport();
                assertTrue(report.removeEvents() > 0, report.toLine());
            }
        }
    }

    /**
     * With reap-compressed, faults on working-set pages during the prefetch are left to it (its install wakes the
     * faulting thread): every byte must still be right, nothing may hang, and working-set pages the guest removes
     * while the prefetch runs must read as zeros (the prefetch skips them). The removed pages are not among those
     * touched meanwhile, so no touch races its own removal.
     */
    @Test
    void reapFaultsLeftToThePrefetchGetTheirPagesAndRemovedOnesZeros() throws Exception {
        long pageCount = TestSnapshots.pageCount();
        long[] trace = LongStream.of(randomPages(pageCount, 3000, 11)).distinct().toArray();
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        Path ws = dir.resolve("ws-left.sabre");
        runVmm(config(snapshot, Strategy.REAP_RECORD).withWorkingSet(ws).withWorkingSetCodec(CodecId.ZSTD, 1), trace);
        long[] removedPages = everyNth(trace, 97, true);
        long[] touchedPages = everyNth(trace, 97, false);
        try (RunningHandler running = RunningHandler.start(config(snapshot, Strategy.REAP_COMPRESSED).withWorkingSet(ws));
             SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 1)) {
            Thread remover = Thread.ofPlatform().start(() -> {
                try {
                    for (long page : removedPages) {
                        vmm.remove(page, 1);
                    }
                } catch (LinuxException e) {
                    throw new AssertionError(e);
                }
            });
            SimulatedVmm.TouchResult first = vmm.touch(touchedPages, THREADS);
            remover.join();
            assertTrue(first.ok(), first + "\n" + running.log());
            SimulatedVmm.TouchResult again = vmm.touch(allPagesShuffled(pageCount, 12), THREADS);
            assertTrue(again.ok(), again + "\n" + running.log());
            vmm.disconnect();
            SessionReport report = running.nextReport();
            assertNotNull(report.restore(), report.toLine());
            assertTrue(report.removeEvents() > 0, report.toLine());
        }
    }

    /** Every {@code step}-th of {@code pages} ({@code chosen}), or all the others. */
    private static long[] everyNth(long[] pages, int step, boolean chosen) {
        return java.util.stream.IntStream.range(0, pages.length).filter(i -> (i % step == 0) == chosen).mapToLong(i -> pages[i]).toArray();
    }

    @Test
    void manyVmmsAtOnce() throws Exception {
        try (RunningHandler running = RunningHandler.start(config(TestSnapshots.memory(), Strategy.LAZY))) {
            List<Thread> vmms = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int i = 0; i < 3; i++) {
                long seed = 100 + i;
                vmms.add(Thread.ofPlatform().start(() -> {
                    try (SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 1 + (int) seed % 2)) {
                        SimulatedVmm.TouchResult r = vmm.touch(randomPages(TestSnapshots.pageCount(), 3000, seed), 2);
                        if (!r.ok()) {
                            throw new AssertionError(r.toString());
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            for (Thread t : vmms) {
                t.join();
            }
            assertTrue(failures.isEmpty(), failures.toString());
            for (int i = 0; i < 3; i++) {
                assertEquals("VMM exited", running.nextReport().outcome());
            }
        }
    }
}
