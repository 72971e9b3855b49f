package dev.sabre.vmm.qemu;

import dev.sabre.vmm.Accelerator;
import dev.sabre.vmm.ColdStart;
import dev.sabre.vmm.GuestImage;
import dev.sabre.vmm.Invocation;
import dev.sabre.vmm.MemoryBackend;
import dev.sabre.vmm.Restored;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.TestPageFaultHandler;
import dev.sabre.vmm.Vm;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.image.Cache;
import dev.sabre.vmm.image.ImageBuilder;
import dev.sabre.linux.HugePages;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real QEMU microvm guests (TCG here) running the fibonacci function: boot, invoke, snapshot, restore
 * with the {@code file} and {@code uffd} modes, and the failures that must be clear and leave nothing
 * running. The function's images are built once (and cached across runs); one snapshot is taken for
 * the whole class.
 */
class QemuDriverTest {
    private static ImageBuilder builder;
    private static QemuDriver driver;
    private static GuestImage image;
    private static VmSpec spec;
    private static Path snapshotDir;
    private static Snapshot snapshot;
    private static Invocation beforeSnapshot;

    @BeforeAll
    static void bootAndSnapshot() throws Exception {
        builder = ImageBuilder.standard(StepLog.stderr());
        image = builder.build("fibonacci");
        driver = new QemuDriver(builder.cache(), StepLog.stderr());
        spec = VmSpec.of(image).withMemoryMiB(256);
        snapshotDir = Files.createTempDirectory("sabre-vmm-test-snapshot-");
        try (Vm vm = driver.boot(spec)) {
            beforeSnapshot = driver.invoke(vm, "10");
            driver.pause(vm);
            driver.resume(vm);
            snapshot = driver.snapshot(vm, snapshotDir);
            assertFalse(vm.isAlive(), "the snapshot ends the VM");
        }
    }

    @AfterAll
    static void cleanUp() {
        Cache.deleteTree(snapshotDir);
    }

    @AfterEach
    void noQemuLeft() {
        List<ProcessHandle> left = ProcessHandle.current().descendants()
                .filter(p -> p.info().command().orElse("").contains("qemu-system")).toList();
        left.forEach(ProcessHandle::destroyForcibly);
        assertEquals(List.of(), left, "stray QEMU processes");
    }

    @Test
    void bootedFunctionAnswers() {
        assertEquals("fn: Fib: y = fib(x) | x: 10 y: 55.0 | runtime: python", beforeSnapshot.reply());
        assertTrue(Files.isRegularFile(snapshot.stateFile()));
        assertEquals(256L << 20, snapshot.memoryBytes());
        assertEquals(snapshot, Snapshot.load(snapshotDir));
    }

    @Test
    void restoreWithFileMapping() throws Exception {
        long before = Files.getLastModifiedTime(snapshot.memoryFile()).toMillis();
        Restored restored = driver.restore(spec, snapshot, MemoryBackend.file());
        try (Vm vm = restored.vm()) {
            assertTrue(restored.restoreMicros() > 0);
            assertEquals("fn: Fib: y = fib(x) | x: 20 y: 6765.0 | runtime: python", driver.invoke(vm, "20").reply());
            assertEquals("fn: Fib: y = fib(x) | x: 10 y: 55.0 | runtime: python", driver.invoke(vm, "10").reply());
        }
        assertFalse(restored.vm().isAlive());
        assertFalse(Files.exists(restored.vm().workDir()), "the work directory (QMP socket, logs) is removed");
        assertEquals(before, Files.getLastModifiedTime(snapshot.memoryFile()).toMillis(),
                "a share=off restore leaves the memory file unchanged");
        // The same snapshot restores again.
        ColdStart again = ColdStart.measure(driver, spec, snapshot, MemoryBackend.file(), "30");
        assertEquals("fn: Fib: y = fib(x) | x: 30 y: 832040.0 | runtime: python", again.reply());
        assertEquals(again.restoreMicros() + again.coldStartMicros(), again.totalMicros());
        System.out.println("fibonacci, file restore:\n" + again);
    }

    @Test
    void restoreThroughUserfaultfdHandshake(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("uffd.sock");
        try (TestPageFaultHandler handler = new TestPageFaultHandler(socket, TestPageFaultHandler.raw(snapshot.memoryFile()))) {
            ColdStart cold = ColdStart.measure(driver, spec, snapshot, MemoryBackend.uffd(socket), "12");
            assertEquals("fn: Fib: y = fib(x) | x: 12 y: 144.0 | runtime: python", cold.reply());
            System.out.println("fibonacci, uffd restore (every page served by the test handler, "
                    + handler.faultsServed() + " faults):\n" + cold);
            assertNull(handler.failure(), () -> "handler failed: " + handler.failure());
            assertTrue(handler.faultsServed() > 100, "guest pages came from the handler: " + handler.faultsServed());
            String handshake = handler.handshake();
            assertTrue(handshake.matches("\\[\\{\"base_host_virt_addr\":\\d+,\"size\":268435456,\"offset\":0,"
                    + "\"page_size\":4096,\"page_size_kib\":4096}]"), handshake);
        }
    }

    @Test
    void uffdRestoreWithoutHandlerFailsClearly(@TempDir Path dir) {
        VmmException e = assertThrows(VmmException.class,
                () -> driver.restore(spec, snapshot, MemoryBackend.uffd(dir.resolve("none.sock"))));
        assertTrue(e.getMessage().contains("no page-fault handler listening"), e.getMessage());
    }

    @Test
    void hugePagesNeedTheHandler() {
        VmSpec huge = spec.withHugePages(true);
        VmmException file = assertThrows(VmmException.class, () -> driver.restore(huge, snapshot, MemoryBackend.file()));
        assertTrue(file.getMessage().startsWith("guest memory of fibonacci on 2 MiB huge pages cannot be restored by "
                + "mapping the snapshot's memory file"), file.getMessage());
        VmmException boot = assertThrows(VmmException.class, () -> driver.boot(huge));
        assertTrue(boot.getMessage().contains("boots fibonacci on 4 KiB pages only"), boot.getMessage());
    }

    /** With fewer free 2 MiB pages than the guest needs, QEMU fails at once with the bridge's reason, not later in the guest. */
    @Test
    void hugePageRestoreWithoutFreeHugePagesFailsClearly(@TempDir Path dir) throws Exception {
        VmSpec huge = spec.withHugePages(true);
        Assumptions.assumeTrue(HugePages.free() < huge.hugePagesNeeded(), "another user holds enough free huge pages");
        Path socket = dir.resolve("uffd.sock");
        try (TestPageFaultHandler handler = new TestPageFaultHandler(socket, TestPageFaultHandler.raw(snapshot.memoryFile()))) {
            VmmException e = assertThrows(VmmException.class, () -> driver.restore(huge, snapshot, MemoryBackend.uffd(socket)));
            assertTrue(e.getMessage().contains("mmap(MAP_HUGETLB) (not enough free 2 MiB pages"), e.getMessage());
            assertEquals(0, handler.faultsServed());
        }
    }

    @Test
    void refusesSnapshotOfAnotherFunctionOrMemorySize() {
        VmmException size = assertThrows(VmmException.class,
                () -> driver.restore(spec.withMemoryMiB(512), snapshot, MemoryBackend.file()));
        assertTrue(size.getMessage().contains("256 MiB of guest memory, the VM asks for 512 MiB"), size.getMessage());
        GuestImage other = new GuestImage("python_list", image.kernel(), image.initramfs(), image.rootfs(), image.id());
        VmmException function = assertThrows(VmmException.class,
                () -> driver.restore(spec.withImage(other), snapshot, MemoryBackend.file()));
        assertTrue(function.getMessage().contains("is of function 'fibonacci', cannot restore function 'python_list'"),
                function.getMessage());
    }

    @Test
    void vmThatCannotBootGivesClearErrorAndStops(@TempDir Path dir) throws Exception {
        Path badKernel = dir.resolve("not-a-kernel");
        Files.writeString(badKernel, "this is not a kernel\n");
        GuestImage bad = new GuestImage("fibonacci", badKernel, image.initramfs(), image.rootfs(), image.id());
        VmmException e = assertThrows(VmmException.class, () -> driver.boot(spec.withImage(bad)));
        assertTrue(e.getMessage().contains("VM fibonacci did not come up"), e.getMessage());
        assertTrue(e.getMessage().contains("QEMU exited with status"), e.getMessage());

        GuestImage missing = new GuestImage("fibonacci", dir.resolve("missing"), image.initramfs(), image.rootfs(), image.id());
        VmmException m = assertThrows(VmmException.class, () -> driver.boot(spec.withImage(missing)));
        assertTrue(m.getMessage().contains("does not exist"), m.getMessage());
    }

    @Test
    void acceleratorIsTcgWhenKvmIsSoftwareOnly() {
        if (Files.exists(Path.of("/sys/module/kvm_pvm")) && System.getenv("SABRE_ACCEL") == null) {
            assertEquals(Accelerator.TCG, driver.accelerator(spec));
        }
        assertEquals(Accelerator.KVM, driver.accelerator(spec.withAccelerator(Accelerator.KVM)));
    }
}
