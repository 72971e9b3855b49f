package dev.sabre.vmm;

import java.nio.file.Path;

/**
 * A running (or paused) function VM started by a {@link VmmDriver}. Closing it stops the VM and
 * removes its work directory; closing twice is harmless, so try-with-resources always cleans up.
 */
public interface Vm extends AutoCloseable {
    VmSpec spec();

    default String function() {
        return spec().function();
    }

    /** The 127.0.0.1 port forwarded to the guest's gRPC port 50051. */
    int hostPort();

    /** The guest's serial console, captured to a file. */
    Path serialLog();

    /** The per-VM directory (memory file of a booted VM, sockets, logs); deleted on close. */
    Path workDir();

    /** True while the VMM process is alive. */
    boolean isAlive();

    /** For error messages: how the VMM ended, if it did, and the tails of its output and the guest console. */
    String diagnostics();

    /** Stops the VM (forcibly if it does not quit at once) and deletes its work directory. */
    @Override
    void close();
}
