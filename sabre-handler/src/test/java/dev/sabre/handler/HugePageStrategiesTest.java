package dev.sabre.handler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.codec.CodecId;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.PageRun;
import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.HugePages;
import dev.sabre.linux.Memory;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every strategy serving the real shared snapshot (4 KiB pages) to a simulated VMM whose guest memory is on
 * 2 MiB hugetlb pages, as Firecracker's {@code huge_pages: "2M"} maps it, with every touched byte checked;
 * and a 2 MiB-page snapshot serving a 4 KiB guest. The host's huge pages are reserved for the class and
 * given back after it, whatever happens.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class HugePageStrategiesTest {
    private static final int THREADS = 4;
    private static final long HUGE = HugePages.SIZE;
    private static final long PER_HUGE = HUGE / 4096;
    private static HugePages reserved;

    @TempDir
    Path dir;

    @BeforeAll
    static void reserveHugePages() throws Exception {
        // One VMM at a time maps the whole 512 MiB dataset: 256 huge pages.
        reserved = HugePages.reserve(TestSnapshots.pageCount() / PER_HUGE);
    }

    @AfterAll
    static void giveThemBack() throws Exception {
        if (reserved != null) {
            reserved.close();
        }
    }

    private static long[] randomPages(int n, long seed) throws Exception {
        return TouchPatterns.randomPages(TestSnapshots.pageCount(), n, seed);
    }

    private static long[] allPagesShuffled(long seed) throws Exception {
        return TouchPatterns.allPagesShuffled(TestSnapshots.pageCount(), seed);
    }

    private static long hugePagesOf(long[]... touches) {
        BitSet units = new BitSet();
        for (long[] pages : touches) {
            for (long p : pages) {
                units.set((int) (p / PER_HUGE));
            }
        }
        return units.cardinality();
    }

    private HandlerConfig config(Path memory, Strategy strategy) {
        return HandlerConfig.of(dir.resolve("uffd.sock"), memory, strategy);
    }

    /** One VMM on {@code guestPageSize} pages in {@code regions} regions: touches, checks, disconnects. */
    private SessionReport runVmm(HandlerConfig config, long guestPageSize, int regions, long[]... touches)
            throws Exception {
        try (RunningHandler running = RunningHandler.start(config)) {
            try (SimulatedVmm vmm = SimulatedVmm.start(config.socket(), TestSnapshots.memory(), regions, guestPageSize)) {
                for (long[] pages : touches) {
                    SimulatedVmm.TouchResult result = vmm.touch(pages, THREADS);
                    assertTrue(result.ok(), result + " with " + config.strategy() + "; log:\n" + running.log());
                }
            }
            SessionReport report = running.nextReport();
            assertEquals("VMM exited", report.outcome(), running.log());
            assertTrue(running.log().contains("in 2048 KiB pages") == (guestPageSize == HUGE), running.log());
            return report;
        }
    }

    @Test
    void lazyServesOneWholeHugePagePerFault() throws Exception {
        long[] sequential = LongStream.range(0, 4096).toArray();
        long[] random = randomPages(3000, 1);
        SessionReport r = runVmm(config(TestSnapshots.memory(), Strategy.LAZY), HUGE, 1, sequential, random);
        long units = hugePagesOf(sequential, random);
        // Several vCPUs may fault on one huge page before it is in: at most one fault each, and one install.
        assertTrue(r.faults() >= units && r.faults() <= units * THREADS, units + " huge pages: " + r.toLine());
        assertEquals(units * HUGE, r.bytesInstalled(), r.toLine());
        assertEquals(units * HUGE, r.bytesRead(), "each huge page read once: " + r.toLine());
    }

    @Test
    void lazyFromCompressedSnapshotDecodesOnlyTheFramesOfTheFaultingHugePages() throws Exception {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        long[] random = randomPages(300, 2);
        SessionReport r = runVmm(config(snapshot, Strategy.LAZY), HUGE, 1, random);
        long bound = 0;
        try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
            BitSet units = new BitSet();
            for (long p : random) {
                units.set((int) (p / PER_HUGE));
            }
            for (int u = units.nextSetBit(0); u >= 0; u = units.nextSetBit(u + 1)) {
                BitSet frames = new BitSet();
                for (long p = u * PER_HUGE; p < (u + 1) * PER_HUGE; p++) {
                    int f = reader.frameOf(p);
                    if (f >= 0) {
                        frames.set(f);
                    }
                }
                for (int f = frames.nextSetBit(0); f >= 0; f = frames.nextSetBit(f + 1)) {
                    bound += reader.frames().get(f).storedLength();
                }
            }
        }
        assertTrue(r.bytesRead() > 0 && r.bytesRead() <= bound, "read " + r.bytesRead() + ", the faulting huge pages' "
                + "frames hold " + bound + ": " + r.toLine());
    }

    @Test
    void eagerInstallsEveryHugePageFromRawAndFromSnapshot() throws Exception {
        for (Path memory : List.of(TestSnapshots.memory(), TestSnapshots.packed(CodecId.LZ4, PackPolicy.PARTITION, 64))) {
            SessionReport r = runVmm(config(memory, Strategy.EAGER), HUGE, 1, randomPages(20000, 3));
            assertNotNull(r.restore(), r.toLine());
            assertEquals(TestSnapshots.pageCount() * 4096, r.restore().bytesInstalled(), r.toLine());
            // 20000 random pages touch every huge page: served one by one, that would be 256 faults or more.
            assertTrue(r.faults() < TestSnapshots.pageCount() / PER_HUGE, "eager must not serve huge pages one by one: "
                    + r.toLine());
        }
    }

    @Test
    void sabreStreamsTheSnapshotInHugePagesAcrossRegions() throws Exception {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        SessionReport r = runVmm(config(snapshot, Strategy.SABRE), HUGE, 3, allPagesShuffled(4));
        assertNotNull(r.restore(), r.toLine());
        // Every byte was checked by the guest; the count may miss one huge page if the VMM exits mid-prefetch.
        assertTrue(r.bytesInstalled() >= TestSnapshots.pageCount() * 4096 - HUGE, r.toLine());
    }

    @Test
    void reapRecordsWholeHugePagesAndReplaysInstallTheSameHugePages() throws Exception {
        long[] trace = randomPages(400, 6);
        long units = hugePagesOf(trace);
        Path rawWs = dir.resolve("ws.sabre");
        runVmm(config(TestSnapshots.memory(), Strategy.REAP_RECORD).withWorkingSet(rawWs), HUGE, 1, trace);
        Path zstdWs = dir.resolve("ws-zstd.sabre");
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        runVmm(config(snapshot, Strategy.REAP_RECORD).withWorkingSet(zstdWs).withWorkingSetCodec(CodecId.ZSTD, 1), HUGE,
                1, trace);
        try (SnapshotReader ws = SnapshotReader.open(rawWs)) {
            long recorded = ws.prefetchOrder().stream().mapToLong(PageRun::pageCount).sum();
            assertEquals(units * PER_HUGE, recorded, "every page of every huge page the guest touched");
        }
        long[] beyond = randomPages(300, 7);
        SessionReport reap = runVmm(config(TestSnapshots.memory(), Strategy.REAP).withWorkingSet(rawWs), HUGE, 1,
                trace, beyond);
        SessionReport compressed = runVmm(config(snapshot, Strategy.REAP_COMPRESSED).withWorkingSet(zstdWs), HUGE, 1,
                trace, beyond);
        for (SessionReport r : List.of(reap, compressed)) {
            assertNotNull(r.restore(), r.toLine());
            assertTrue(r.restore().bytesInstalled() + r.bytesInstalled() >= units * HUGE, r.toLine());
            assertTrue(r.bytesInstalled() <= hugePagesOf(trace, beyond) * HUGE, r.toLine());
        }
        // No huge page is read twice: a fault takes its huge page from the prefetch queue, or waits for the
        // prefetch's copy (at most one in-flight huge page per worker is read and not installed at the exit).
        long installed = reap.restore().bytesInstalled() + reap.bytesInstalled();
        assertTrue(reap.bytesRead() <= installed + 4 * HUGE, "read " + reap.bytesRead() + ", installed " + installed
                + ": " + reap.toLine());
        // A working set recorded on huge pages also serves a 4 KiB guest.
        runVmm(config(TestSnapshots.memory(), Strategy.REAP).withWorkingSet(rawWs), Memory.pageSize(), 1, trace, beyond);
    }

    @Test
    void removedHugePagesReadAsZerosEvenWhilePrefetchStreams() throws Exception {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        long pageCount = TestSnapshots.pageCount();
        for (Strategy strategy : List.of(Strategy.LAZY, Strategy.SABRE)) {
            try (RunningHandler running = RunningHandler.start(config(snapshot, strategy));
                 SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 2, HUGE)) {
                assertTrue(vmm.touch(LongStream.range(0, 2048).toArray(), THREADS).ok());
                vmm.remove(PER_HUGE, PER_HUGE);                      // touched: dropped, then zeros
                vmm.remove(60000 / PER_HUGE * PER_HUGE, 2 * PER_HUGE); // probably not streamed in yet: never data
                vmm.remove(pageCount - PER_HUGE, PER_HUGE);
                SimulatedVmm.TouchResult r = vmm.touch(allPagesShuffled(8), THREADS);
                assertTrue(r.ok(), strategy + ": " + r + "\n" + running.log());
                vmm.disconnect();
                SessionReport report = running.nextReport();
                assertTrue(report.removeEvents() >= 3, report.toLine());
            }
        }
    }

    @Test
    void aSnapshotOfHugePagesServesAGuestOfBasePages() throws Exception {
        Path snapshot = TestSnapshots.packedInHugePages();
        long[] random = randomPages(3000, 9);
        SessionReport lazy = runVmm(config(snapshot, Strategy.LAZY), Memory.pageSize(), 2, random);
        assertTrue(lazy.faults() <= hugePagesOf(random) * THREADS, lazy.toLine());
        // Every fault brings in a whole 2 MiB snapshot page, so the guest may finish before the prefetch does.
        // (A prefetch cancelled at the VMM's exit may leave its last run uncounted, so installed bytes are not exact.)
        SessionReport sabre = runVmm(config(snapshot, Strategy.SABRE), Memory.pageSize(), 1, allPagesShuffled(10));
        assertTrue(sabre.faults() <= TestSnapshots.pageCount() / PER_HUGE * THREADS, sabre.toLine());
        try (RunningHandler running = RunningHandler.start(config(snapshot, Strategy.LAZY));
             SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 1)) {
            assertTrue(vmm.touch(LongStream.range(0, 1024).toArray(), THREADS).ok());
            vmm.remove(100, 3); // 4 KiB pages inside one 2 MiB snapshot page: only they read as zeros
            assertTrue(vmm.touch(LongStream.range(0, 1024).toArray(), THREADS).ok(), running.log());
        }
    }
}
