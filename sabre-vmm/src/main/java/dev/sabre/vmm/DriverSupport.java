package dev.sabre.vmm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What every {@link VmmDriver} checks and does the same way, written once. */
public final class DriverSupport {
    private DriverSupport() {
    }

    /** Throws a clear error when one of the function's guest image files is missing. */
    public static void checkImages(VmSpec spec) {
        GuestImage image = spec.image();
        for (Path p : List.of(image.kernel(), image.initramfs(), image.rootfs())) {
            if (!Files.isRegularFile(p)) {
                throw new VmmException("guest image file " + p + " of function " + spec.function()
                        + " does not exist (build the function's images first)");
            }
        }
    }

    /**
     * Refuses a restore onto 2 MiB huge pages from the memory file ({@link MemoryBackend.File}): hugetlb pages can
     * hold only memory copied into them (or files on hugetlbfs), never a private mapping of a snapshot file on disk;
     * Firecracker's API says the same ("2M" pages require a UFFD memory backend).
     */
    public static void checkHugePageBackend(VmSpec spec, MemoryBackend backend) {
        if (spec.hugePages() && backend instanceof MemoryBackend.File) {
            throw new VmmException("guest memory of " + spec.function() + " on 2 MiB huge pages cannot be restored by "
                    + "mapping the snapshot's memory file (backend file): hugetlb memory is filled only by copying; "
                    + "restore it through a page-fault handler (uffd) instead");
        }
    }

    /**
     * {@code vm} as this driver's own VM type, running: a VM of another driver, or one whose VMM has exited,
     * is a clear error (the latter with the VMM's logs).
     */
    public static <T extends Vm> T own(Vm vm, Class<T> type, String driver) {
        if (!type.isInstance(vm)) {
            throw new VmmException("not a " + driver + " VM: " + vm);
        }
        if (!vm.isAlive()) {
            throw new VmmException(vm + " is not running\n" + vm.diagnostics());
        }
        return type.cast(vm);
    }

    /**
     * For a VM that failed while coming up or being restored: stops it and returns the error to throw,
     * {@code what} ("VM fibonacci did not come up") with the cause and the VMM's logs, taken before it stopped.
     */
    public static VmmException failed(Vm vm, String what, RuntimeException cause) {
        String why = vm.diagnostics();
        vm.close();
        return new VmmException(what + ": " + cause.getMessage() + "\n" + why, cause);
    }

    /** Sleeps between polls; an interrupt becomes a {@link VmmException} with the flag kept. */
    public static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException("interrupted", e);
        }
    }
}
