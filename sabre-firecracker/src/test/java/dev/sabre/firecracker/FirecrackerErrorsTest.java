package dev.sabre.firecracker;

import dev.sabre.handler.HandlerConfig;
import dev.sabre.handler.PageFaultHandler;
import dev.sabre.handler.Strategy;
import dev.sabre.vmm.MemoryBackend;
import dev.sabre.vmm.Restored;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.TestPageFaultHandler;
import dev.sabre.vmm.Vm;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.VmmException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Bad input gives one clear message and leaves nothing behind: no Firecracker process, no work
 * directory, no TAP device.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class FirecrackerErrorsTest {
    @TempDir
    static Path shared;
    static Path standIn;
    static int port;
    static VmSpec spec;

    @TempDir
    Path tmp;

    @BeforeAll
    static void standIn() throws IOException {
        port = Targets.freePort();
        standIn = Targets.standInBinary(shared, port);
        spec = Targets.standInSpec(shared);
    }

    private static FirecrackerDriver driver(Path binary, Duration apiTimeout) {
        return new FirecrackerDriver(FirecrackerConfig.of(binary).withTap(false).withApiTimeout(apiTimeout)
                .withGuestEndpoint(new InetSocketAddress("127.0.0.1", port)), StepLog.silent());
    }

    private static FirecrackerDriver standInDriver() {
        return driver(standIn, Duration.ofSeconds(30));
    }

    private static List<Path> workDirs() throws IOException {
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("sabre-fc-")).sorted().toList();
        }
    }

    private static void assertNoChildren() {
        ProcessHandle.current().children().forEach(p -> {
            try {
                p.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // checked below
            }
        });
        assertEquals(0, ProcessHandle.current().children().filter(ProcessHandle::isAlive).count(), "a child process is left");
    }

    @Test
    void aMissingBinaryIsNamed() throws IOException {
        Path missing = tmp.resolve("no-such-firecracker");
        VmmException e = assertThrows(VmmException.class, () -> FirecrackerConfig.locate(missing));
        assertEquals("firecracker binary " + missing + " (from --firecracker-bin) does not exist", e.getMessage());
        List<Path> before = workDirs();
        VmmException boot = assertThrows(VmmException.class, () -> driver(missing, Duration.ofSeconds(5)).boot(spec));
        assertTrue(boot.getMessage().startsWith("cannot start " + missing), boot.getMessage());
        assertEquals(before, workDirs());
    }

    @Test
    void anApiSocketThatNeverAppearsTimesOutAndTheProcessIsKilled() throws IOException {
        Path silent = Targets.script(tmp.resolve("firecracker"), "#!/bin/sh\necho 'starting slowly'\nexec sleep 600\n");
        List<Path> before = workDirs();
        VmmException e = assertThrows(VmmException.class, () -> driver(silent, Duration.ofMillis(500)).boot(spec));
        assertTrue(e.getMessage().contains("did not appear within 500 ms"), e.getMessage());
        assertTrue(e.getMessage().endsWith("starting slowly"), e.getMessage());
        assertNoChildren();
        assertEquals(before, workDirs());
    }

    @Test
    void aBinaryThatExitsEarlyIsReportedWithItsOutput() throws IOException {
        Path failing = Targets.script(tmp.resolve("firecracker"), "#!/bin/sh\necho 'Arguments parsing error: nope'\nexit 1\n");
        VmmException e = assertThrows(VmmException.class, () -> driver(failing, Duration.ofSeconds(10)).boot(spec));
        assertTrue(e.getMessage().contains("exited with status 1"), e.getMessage());
        assertTrue(e.getMessage().endsWith("Arguments parsing error: nope"), e.getMessage());
        assertNoChildren();
    }

    @Test
    void aRejectedRequestCarriesFirecrackersFaultMessage() throws IOException {
        Snapshot snapshot = snapshot(tmp.resolve("snap"));
        Files.writeString(snapshot.stateFile(), "garbage");
        List<Path> before = workDirs();
        VmmException e = assertThrows(VmmException.class, () -> standInDriver().restore(spec, snapshot, MemoryBackend.file()));
        FirecrackerException cause = assertInstanceOf(FirecrackerException.class, e.getCause());
        assertEquals(400, cause.status());
        assertEquals("PUT", cause.method());
        assertEquals("/snapshot/load", cause.path());
        assertTrue(cause.faultMessage().startsWith("Load snapshot error: Failed to restore from snapshot"), cause.faultMessage());
        assertTrue(cause.getMessage().startsWith("Firecracker rejected PUT /snapshot/load (HTTP 400): Load snapshot error"));
        assertNoChildren();
        assertEquals(before, workDirs());
    }

    @Test
    void aSnapshotOfAnotherMemorySizeIsRefusedBeforeStarting() throws IOException {
        Snapshot snapshot = snapshot(tmp.resolve("snap"));
        VmmException e = assertThrows(VmmException.class,
                () -> standInDriver().restore(spec.withMemoryMiB(128), snapshot, MemoryBackend.file()));
        assertEquals("snapshot " + tmp.resolve("snap") + " has 64 MiB of guest memory, the VM asks for 128 MiB", e.getMessage());

        try (RandomAccessFile f = new RandomAccessFile(snapshot.memoryFile().toFile(), "rw")) {
            f.setLength(32 << 20);
        }
        VmmException truncated = assertThrows(VmmException.class, () -> standInDriver().restore(spec, snapshot, MemoryBackend.file()));
        assertTrue(truncated.getMessage().contains("has 33554432 bytes, expected 67108864"), truncated.getMessage());
        assertNoChildren();
    }

    @Test
    void aMissingHandlerSocketIsNamed() throws IOException {
        Snapshot snapshot = snapshot(tmp.resolve("snap"));
        Path socket = tmp.resolve("nobody.sock");
        VmmException e = assertThrows(VmmException.class, () -> standInDriver().restore(spec, snapshot, MemoryBackend.uffd(socket)));
        assertEquals("no page-fault handler listening at " + socket + " (start it before the restore)", e.getMessage());
    }

    @Test
    void aDiffMustBeRebasedBeforeARestore() throws IOException {
        FirecrackerDriver driver = standInDriver();
        try (Vm vm = driver.boot(spec)) {
            driver.snapshot(vm, tmp.resolve("full"), SnapshotKind.FULL);
            driver.resume(vm);
            driver.invoke(vm, "x");
            Snapshot diff = driver.snapshot(vm, tmp.resolve("diff"), SnapshotKind.DIFF);
            VmmException e = assertThrows(VmmException.class, () -> driver.restore(spec, diff, MemoryBackend.file()));
            assertTrue(e.getMessage().endsWith(": merge it onto its base first (DiffRebase.rebase)"), e.getMessage());
        }
    }

    @Test
    void aSnapshotDirectoryThatIsNotEmptyIsRefused() throws IOException {
        FirecrackerDriver driver = standInDriver();
        Files.createDirectories(tmp.resolve("busy"));
        Files.writeString(tmp.resolve("busy/other"), "x");
        try (Vm vm = driver.boot(spec)) {
            VmmException e = assertThrows(VmmException.class, () -> driver.snapshot(vm, tmp.resolve("busy"), SnapshotKind.FULL));
            assertEquals("snapshot directory " + tmp.resolve("busy") + " is not empty", e.getMessage());
        }
    }

    /** A handler that serves the wrong memory (zeros) is caught by the guest's checks: it crashes. */
    @Test
    void aHandlerServingWrongMemoryCrashesTheGuest() throws Exception {
        Snapshot snapshot = snapshot(tmp.resolve("snap"));
        Path zeros = tmp.resolve("zeros");
        try (RandomAccessFile f = new RandomAccessFile(zeros.toFile(), "rw")) {
            f.setLength(snapshot.memoryBytes());
        }
        try (TestPageFaultHandler handler = new TestPageFaultHandler(tmp.resolve("uffd.sock"), TestPageFaultHandler.raw(zeros))) {
            Restored restored = standInDriver().restore(spec, snapshot, MemoryBackend.uffd(handler.socket()));
            try (Vm vm = restored.vm()) {
                FirecrackerVm f = (FirecrackerVm) vm;
                assertTrue(f.vmmProcess().waitFor(60, TimeUnit.SECONDS), "the guest should crash on wrong memory");
                assertEquals(70, f.vmmProcess().exitValue());
                assertTrue(Files.readString(vm.serialLog()).contains("guest: CRASH: guest page 0 (offset 0x0) differs from the snapshot"));
            }
        }
    }

    /**
     * A handler serving a memory of another size refuses the handshake and kills the VMM (its pid from
     * SO_PEERCRED) rather than leave it waiting for pages; the VM is then reported as not running.
     */
    @Test
    void aHandlerForAnotherMemorySizeRefusesAndKillsTheVmm() throws Exception {
        Snapshot snapshot = snapshot(tmp.resolve("snap"));
        Path bigger = tmp.resolve("bigger");
        try (RandomAccessFile f = new RandomAccessFile(bigger.toFile(), "rw")) {
            f.setLength(2 * snapshot.memoryBytes());
        }
        Path socket = tmp.resolve("handler.sock");
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        PageFaultHandler handler = PageFaultHandler.start(HandlerConfig.of(socket, bigger, Strategy.LAZY)
                .withLog(new java.io.PrintStream(log, true)));
        java.util.List<String> refused = new java.util.concurrent.CopyOnWriteArrayList<>();
        handler.onConnectionDropped(refused::add);
        try {
            // The handler may kill the VMM while PUT /snapshot/load is still in flight, or just after.
            Vm vm = standInDriver().restore(spec, snapshot, MemoryBackend.uffd(socket)).vm();
            try (vm) {
                FirecrackerVm f = (FirecrackerVm) vm;
                assertTrue(f.vmmProcess().waitFor(60, TimeUnit.SECONDS), "the handler should kill the VMM it cannot serve");
                VmmException e = assertThrows(VmmException.class, () -> standInDriver().invoke(vm, "x"));
                assertTrue(e.getMessage().startsWith(vm + " is not running"), e.getMessage());
            }
        } catch (VmmException e) {
            assertTrue(e.getMessage().contains("Firecracker closed its API socket"), e.getMessage());
            assertTrue(e.getMessage().contains("without answering PUT /snapshot/load (did it exit?)"), e.getMessage());
        } finally {
            handler.close();
        }
        // A refused handshake never becomes a session: the handler says why it dropped the connection.
        assertEquals(1, refused.size(), log.toString());
        assertTrue(refused.getFirst().startsWith("handshake refused: ")
                && refused.getFirst().contains("regions cover 67108864 bytes"), refused.getFirst());
        assertTrue(handler.reports().isEmpty(), log.toString());
        assertNoChildren();
    }

    @Test
    void aTapDeviceLivesExactlyAsLongAsItsVm() throws IOException {
        assumeTrue(Files.exists(Path.of("/dev/net/tun")) && FirecrackerConfig.onPath("ip") != null, "no /dev/net/tun or no ip tool");
        FirecrackerDriver driver = new FirecrackerDriver(FirecrackerConfig.of(standIn).withApiTimeout(Duration.ofSeconds(30))
                .withGuestEndpoint(new InetSocketAddress("127.0.0.1", port)), StepLog.silent());
        String tap;
        try (Vm vm = driver.boot(spec)) {
            tap = ((FirecrackerVm) vm).tap().name();
            assertTrue(Files.exists(Path.of("/sys/class/net", tap)), "the TAP " + tap + " should exist");
            assertTrue(Files.exists(vm.workDir().resolve("vsock.sock")), "the stand-in binds the vsock socket");
        }
        assertFalse(Files.exists(Path.of("/sys/class/net", tap)), "the TAP " + tap + " should be gone");
    }

    private Snapshot snapshot(Path dir) {
        FirecrackerDriver driver = standInDriver();
        Vm vm = driver.boot(spec);
        try {
            driver.invoke(vm, "x");
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
        return driver.snapshot(vm, dir); // closes the VM
    }
}
