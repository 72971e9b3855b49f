package dev.sabre.handler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.format.PageRun;
import dev.sabre.format.Progress;
import dev.sabre.store.PageInput;
import dev.sabre.store.Pusher;
import dev.sabre.store.SnapshotStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Restores straight from a snapshot store (a directory store here; STORE.md): every byte checked. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StoreRestoreTest {
    private static final List<PageRun> WORKING_SET = List.of(new PageRun(0, 512), new PageRun(4096, 700),
            new PageRun(60000, 300));

    @TempDir
    static Path dir;
    private String reference;

    @BeforeAll
    void push() throws IOException {
        Path store = dir.resolve("store");
        try (SnapshotStore s = SnapshotStore.open(store.toString(), null);
             PageInput in = PageInput.open(TestSnapshots.memory(), false)) {
            Pusher.push(s, in, WORKING_SET, "python-json", Pusher.Options.defaults(), Progress.NONE);
        }
        reference = store.resolve("python-json").toString();
    }

    private HandlerConfig config(Strategy strategy) {
        return HandlerConfig.of(dir.resolve("uffd.sock"), null, strategy).withStore(reference, null);
    }

    @Test
    void lazyServesEveryPageFromTheStore() throws Exception {
        try (RunningHandler running = RunningHandler.start(config(Strategy.LAZY))) {
            try (SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 2)) {
                SimulatedVmm.TouchResult r = vmm.touch(new Random(3).longs(3000, 0, vmm.pageCount()).toArray(), 2);
                assertTrue(r.ok(), r.toString());
            }
            assertEquals("VMM exited", running.nextReport().outcome());
        }
    }

    @Test
    void reapCompressedPrefetchesTheStoredWorkingSet() throws Exception {
        try (RunningHandler running = RunningHandler.start(config(Strategy.REAP_COMPRESSED))) {
            try (SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 1)) {
                long[] ws = WORKING_SET.stream().flatMapToLong(r -> LongStream.range(r.firstPage(), r.endPage())).toArray();
                assertTrue(vmm.touch(ws, 2).ok());
                assertTrue(vmm.touch(new Random(4).longs(1000, 0, vmm.pageCount()).toArray(), 1).ok());
            }
            SessionReport report = running.nextReport();
            assertEquals("VMM exited", report.outcome());
            assertNotNull(report.restore(), "the working set was prefetched");
            // The VMM touches the working set at once, so faults install part of it before the prefetch gets there.
            assertTrue(report.restore().bytesInstalled() > 0, report.toLine());
            assertTrue(running.log().contains("working set from the store"), running.log());
        }
    }

    @Test
    void strategiesThatCannotUseAStoreSaySo() {
        var reap = assertThrows(IOException.class, () -> PageFaultHandler.start(config(Strategy.REAP)));
        assertTrue(reap.getMessage().contains("reap-compressed"), reap.getMessage());
        var sabre = assertThrows(IOException.class, () -> PageFaultHandler.start(config(Strategy.SABRE)));
        assertTrue(sabre.getMessage().contains("does not restore from a store yet"), sabre.getMessage());
    }
}
