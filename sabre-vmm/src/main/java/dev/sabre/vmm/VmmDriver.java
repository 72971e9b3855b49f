package dev.sabre.vmm;

import java.nio.file.Path;

/**
 * The operations the orchestrator and the experiments need from a VMM, so they run unchanged on the
 * QEMU testbed and on Firecracker: boot a function VM, invoke it, pause, snapshot, restore with a
 * {@link MemoryBackend}, stop.
 */
public interface VmmDriver {
    /** A short name: {@code qemu}, {@code firecracker}. */
    String name();

    /** Boots the function and returns once its gRPC server answers; fails with the serial log's tail otherwise. */
    Vm boot(VmSpec spec);

    /** Calls {@code fibonacci.Greeter/SayHello} with {@code input} as the request's name. */
    Invocation invoke(Vm vm, String input);

    /** Stops the guest's vCPUs. */
    void pause(Vm vm);

    /** Runs the guest's vCPUs again. */
    void resume(Vm vm);

    /**
     * Pauses the VM and writes a snapshot into the new or empty directory {@code dir}: device state and
     * guest memory file. The VM ends with the snapshot (its memory file becomes the snapshot's).
     */
    Snapshot snapshot(Vm vm, Path dir);

    /**
     * Starts a VM from a snapshot taken of the same function with the same memory size, resumes it and
     * returns it with the restore latency. With {@link MemoryBackend.Uffd} the handler must already listen.
     */
    Restored restore(VmSpec spec, Snapshot snapshot, MemoryBackend backend);

    /** Stops the VM; same as {@link Vm#close()}. */
    default void stop(Vm vm) {
        vm.close();
    }
}
