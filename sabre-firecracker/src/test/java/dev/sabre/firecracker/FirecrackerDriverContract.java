package dev.sabre.firecracker;


import dev.sabre.format.PackOptions;
import dev.sabre.format.SnapshotReader;
import dev.sabre.handler.HandlerConfig;
import dev.sabre.handler.PageFaultHandler;
import dev.sabre.handler.SessionReport;
import dev.sabre.handler.Strategy;
import dev.sabre.linux.HugePages;
import dev.sabre.vmm.ColdStart;
import dev.sabre.vmm.Invocation;
import dev.sabre.vmm.MemoryBackend;
import dev.sabre.vmm.Restored;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.TestPageFaultHandler;
import dev.sabre.vmm.Vm;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.VmmException;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The driver's whole life cycle against one Firecracker: boot, invoke, pause and resume, Full and
 * Diff snapshots, Diff rebase, and restores with the File backend and with the Uffd backend served by
 * a page-fault handler (from the raw memory file and from a .sabre file). Subclasses supply the
 * Firecracker (the stand-in, or the real binary where it can run).
 */
abstract class FirecrackerDriverContract {
    @TempDir
    Path tmp;

    abstract FirecrackerDriver driver();

    abstract VmSpec spec();

    /** Output of the VM, to check what the guest saw (the stand-in logs its checks there). */
    void assertGuestSawSnapshot(Vm vm) throws IOException {
    }

    private Snapshot bootAndSnapshot(Path dir) {
        Vm vm = driver().boot(spec());
        try {
            driver().invoke(vm, "boot");
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
        return driver().snapshot(vm, dir); // closes the VM
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void bootsInvokesPausesAndResumes() {
        try (Vm vm = driver().boot(spec())) {
            assertTrue(vm.isAlive());
            Invocation first = driver().invoke(vm, "world");
            assertFalse(first.reply().isEmpty());
            driver().pause(vm);
            driver().resume(vm);
            assertNotNull(driver().invoke(vm, "again").reply());
        }
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void fullSnapshotRestoresWithTheFileBackend() throws IOException {
        Snapshot snapshot = bootAndSnapshot(tmp.resolve("full"));
        assertEquals(spec().memoryBytes(), Files.size(snapshot.memoryFile()));
        ColdStart cold = ColdStart.measure(driver(), spec(), Snapshot.load(tmp.resolve("full")), MemoryBackend.file(), "cold");
        assertFalse(cold.reply().isEmpty());
        assertTrue(cold.restoreMicros() > 0);
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void fullSnapshotRestoresThroughAPageFaultHandler() throws Exception {
        Snapshot snapshot = bootAndSnapshot(tmp.resolve("full"));
        try (TestPageFaultHandler handler = new TestPageFaultHandler(tmp.resolve("uffd.sock"), TestPageFaultHandler.raw(snapshot.memoryFile()))) {
            Restored restored = driver().restore(spec(), snapshot, MemoryBackend.uffd(handler.socket()));
            try (Vm vm = restored.vm()) {
                assertGuestSawSnapshot(vm);
                // Two invocations: the second frees pages like a balloon, which must then read as zeros.
                driver().invoke(vm, "one");
                driver().invoke(vm, "two");
                assertTrue(vm.isAlive());
            }
            assertNull(handler.failure(), () -> "handler failed: " + handler.failure());
            assertTrue(handler.faultsServed() > 0);
            assertTrue(handler.handshake().contains("\"page_size_kib\":4096"), handler.handshake());
        }
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void diffSnapshotRebasedOntoItsBaseRestoresBothWays() throws Exception {
        Vm vm = driver().boot(spec());
        Snapshot full;
        Snapshot diff;
        try (vm) {
            driver().invoke(vm, "before");
            full = driver().snapshot(vm, tmp.resolve("full"), SnapshotKind.FULL);
            driver().resume(vm);
            driver().invoke(vm, "between");
            diff = driver().snapshot(vm, tmp.resolve("diff"), SnapshotKind.DIFF);
        }
        assertEquals(SnapshotKind.DIFF, SnapshotInfo.load(tmp.resolve("diff")).kind());
        assertEquals(tmp.resolve("full").toAbsolutePath(), SnapshotInfo.load(tmp.resolve("diff")).base());
        long diffData = dev.sabre.linux.SparseFile.dataExtents(diff.memoryFile()).stream().mapToLong(e -> e.length()).sum();
        assertTrue(diffData < diff.memoryBytes() / 4, "a Diff holds only dirty pages, not " + diffData + " bytes");

        Snapshot merged = DiffRebase.rebase(diff, tmp.resolve("merged"));
        ColdStart cold = ColdStart.measure(driver(), spec(), merged, MemoryBackend.file(), "file");
        assertFalse(cold.reply().isEmpty());
        try (TestPageFaultHandler handler = new TestPageFaultHandler(tmp.resolve("uffd.sock"), TestPageFaultHandler.raw(merged.memoryFile()))) {
            Restored restored = driver().restore(spec(), merged, MemoryBackend.uffd(handler.socket()));
            try (Vm back = restored.vm()) {
                assertGuestSawSnapshot(back);
                assertFalse(driver().invoke(back, "uffd").reply().isEmpty());
            }
            assertNull(handler.failure(), () -> "handler failed: " + handler.failure());
        }
        assertFalse(full.memoryFile().equals(merged.memoryFile()));
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void packedSnapshotIsServedFromTheSabreFile() throws Exception {
        Snapshot snapshot = bootAndSnapshot(tmp.resolve("full"));
        Path sabre = SnapshotPacking.pack(snapshot, PackOptions.defaults().withThreads(2), null);
        try (SnapshotReader reader = SnapshotReader.open(sabre)) {
            assertEquals(spec().memoryBytes(), reader.header().memorySize());
        }
        try (TestPageFaultHandler handler = new TestPageFaultHandler(tmp.resolve("uffd.sock"), sabrePages(sabre))) {
            Restored restored = driver().restore(spec(), snapshot, MemoryBackend.uffd(handler.socket()));
            try (Vm vm = restored.vm()) {
                assertGuestSawSnapshot(vm);
                assertFalse(driver().invoke(vm, "sabre").reply().isEmpty());
            }
            assertNull(handler.failure(), () -> "handler failed: " + handler.failure());
        }
    }

    /**
     * Every snapshot type of the original, restored through the strategy it maps to, in the order a user
     * runs them (REAPRecord writes the working set REAPReplay replays), plus lazy and eager; the
     * stand-in's guest checks its memory after each restore.
     */
    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void everyOriginalSnapshotTypeRestoresThroughItsStrategy() throws Exception {
        Snapshot full = bootAndSnapshot(tmp.resolve("full"));
        SnapshotPacking.pack(full, PackOptions.defaults().withThreads(2), null);
        Vm booted = driver().boot(spec());
        Snapshot diff;
        try (booted) {
            driver().invoke(booted, "diff");
            diff = driver().snapshot(booted, tmp.resolve("diff"), SnapshotKind.DIFF); // since boot: whole
        }
        SnapshotPacking.pack(diff, PackOptions.defaults().withThreads(2), null);
        for (OriginalSnapshotType type : OriginalSnapshotType.values()) {
            Snapshot snapshot = type.kind() == SnapshotKind.DIFF ? diff : full;
            restoreAndCheck(type.originalName(), snapshot, type.handler(snapshot, tmp.resolve("handler.sock")));
            if (type.strategy() == Strategy.REAP_RECORD) {
                Path ws = type.handler(snapshot, tmp.resolve("handler.sock")).workingSet();
                assertTrue(Files.size(ws) > 0, "REAP recording should have written " + ws);
            }
        }
        for (Strategy strategy : List.of(Strategy.LAZY, Strategy.EAGER)) {
            restoreAndCheck(strategy.label(), full, HandlerConfig.of(tmp.resolve("handler.sock"), full.memoryFile(), strategy));
        }
    }

    /**
     * A guest whose memory is on 2 MiB hugetlb pages ({@code huge_pages: "2M"} at boot and on snapshot load), restored
     * through the handler lazily and eagerly, the guest checking its memory and freeing a huge page like a balloon;
     * the same snapshot also restores on 4 KiB pages, and the file backend is refused on huge pages.
     */
    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void hugePageGuestRestoresThroughTheHandler() throws Exception {
        VmSpec huge = spec().withHugePages(true);
        try (HugePages reserved = HugePages.reserve(huge.hugePagesNeeded())) {
            Snapshot snapshot;
            long free = HugePages.free();
            Vm vm = driver().boot(huge);
            try (vm) {
                driver().invoke(vm, "boot");
                assertTrue(HugePages.free() < free, "the booted guest's memory is on the host's huge pages");
                snapshot = driver().snapshot(vm, tmp.resolve("huge"));
            }
            VmmException file = assertThrows(VmmException.class, () -> driver().restore(huge, snapshot, MemoryBackend.file()));
            assertTrue(file.getMessage().contains("cannot be restored by mapping the snapshot's memory file"), file.getMessage());
            Path socket = tmp.resolve("handler.sock");
            for (Strategy strategy : List.of(Strategy.LAZY, Strategy.EAGER)) {
                SessionReport report = restoreAndCheck(huge, "2M " + strategy.label(), snapshot,
                        HandlerConfig.of(socket, snapshot.memoryFile(), strategy));
                assertEquals(0, report.bytesInstalled() % HugePages.SIZE, report.toLine());
            }
            restoreAndCheck(spec(), "4K lazy of a 2M guest", snapshot, HandlerConfig.of(socket, snapshot.memoryFile(), Strategy.LAZY));
            assertTrue(reserved.count() > 0);
        }
    }

    private void restoreAndCheck(String what, Snapshot snapshot, HandlerConfig config) throws Exception {
        restoreAndCheck(spec(), what, snapshot, config);
    }

    private SessionReport restoreAndCheck(VmSpec spec, String what, Snapshot snapshot, HandlerConfig config) throws Exception {
        if (config == null) {
            try (Vm vm = driver().restore(spec, snapshot, MemoryBackend.file()).vm()) {
                assertGuestSawSnapshot(vm);
                assertFalse(driver().invoke(vm, what).reply().isEmpty());
            }
            return null;
        }
        Path log = tmp.resolve("handler-" + what + ".log");
        PageFaultHandler handler;
        try (PrintStream out = new PrintStream(Files.newOutputStream(log), true)) {
            handler = PageFaultHandler.start(config.withLog(out));
            try (Vm vm = driver().restore(spec, snapshot, MemoryBackend.uffd(config.socket())).vm()) {
                assertGuestSawSnapshot(vm);
                assertFalse(driver().invoke(vm, what + " 1").reply().isEmpty());
                assertFalse(driver().invoke(vm, what + " 2").reply().isEmpty()); // frees pages like a balloon
                assertTrue(vm.isAlive(), what + ": the VM died");
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError(what + ": " + e.getMessage() + "\n--- handler log ---\n" + Files.readString(log), e);
            } finally {
                // The VM is stopped: let its session see the hang-up before closing, or close() races it
                // and reports "the handler is shutting down" instead of "VMM exited".
                for (long deadline = System.nanoTime() + 10_000_000_000L;
                     handler.activeSessions() > 0 && System.nanoTime() < deadline; ) {
                    Thread.sleep(10);
                }
                handler.close(); // writes a recorded working set
            }
        }
        List<SessionReport> reports = handler.reports();
        assertEquals(1, reports.size(), what + ": " + Files.readString(log));
        SessionReport report = reports.getFirst();
        System.out.println(what + ": " + report.toLine());
        assertTrue(report.outcome().startsWith("VMM exited"), what + ": " + report.toLine());
        assertTrue(report.faults() > 0 || report.bytesInstalled() > 0, what + ": " + report.toLine());
        return report;
    }

    /** Pages served from a .sabre snapshot, each decoded on its own. */
    static TestPageFaultHandler.PageSource sabrePages(Path sabreFile) throws IOException {
        SnapshotReader reader = SnapshotReader.open(sabreFile);
        return new TestPageFaultHandler.PageSource() {
            @Override
            public void read(long page, MemorySegment dst) throws IOException {
                reader.readPage(page, dst);
            }

            @Override
            public void close() throws IOException {
                reader.close();
            }
        };
    }
}
