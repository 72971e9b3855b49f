package dev.sabre.vmm.qemu;

import dev.sabre.vmm.ChildProcess;
import dev.sabre.vmm.ProcessVm;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One QEMU process and what belongs to it: its work directory (memory file of a booted VM, QMP socket,
 * serial and QEMU logs), its QMP connection, the host port QEMU forwards to the guest's gRPC server and
 * its gRPC client. Being a {@link ProcessVm}, even a JVM that exits abruptly leaves no QEMU behind.
 */
final class QemuVm extends ProcessVm {
    private static final Duration EXIT_GRACE = Duration.ofMillis(500);

    final Path memoryFile;
    final boolean restored;
    QmpClient qmp;
    /** The forwarded host port, chosen by QEMU (the OS) and known once QMP is up; 0 until then. */
    private volatile int port;

    QemuVm(VmSpec spec, Path workDir, ChildProcess process, Path memoryFile, boolean restored) {
        super(spec, workDir, process);
        this.memoryFile = memoryFile;
        this.restored = restored;
    }

    @Override
    public int hostPort() {
        return port;
    }

    void forwardedPort(int hostPort) {
        this.port = hostPort;
    }

    @Override
    protected InetSocketAddress functionAddress() {
        if (port == 0) {
            throw new VmmException(this + " has no forwarded port yet");
        }
        return InetSocketAddress.createUnresolved("127.0.0.1", port);
    }

    @Override
    public Path serialLog() {
        return workDir.resolve("serial.log");
    }

    Path qemuLog() {
        return workDir.resolve("qemu.log");
    }

    Path qmpSocket() {
        return workDir.resolve("qmp.sock");
    }

    /** Logs for an error message: how QEMU ended, its own output and the guest console's tail. */
    @Override
    public String diagnostics() {
        StringBuilder b = new StringBuilder();
        // Called on failures, often because QEMU is ending: a moment lets its exit status show.
        if (process.exitsWithin(EXIT_GRACE)) {
            b.append("QEMU exited with status ").append(process.process().exitValue()).append('\n');
        }
        String qemu = WorkDir.tail(qemuLog(), 15).strip();
        if (!qemu.isEmpty()) {
            b.append("--- QEMU output (").append(qemuLog().getFileName()).append(") ---\n").append(qemu).append('\n');
        }
        b.append("--- serial console, last lines ---\n").append(WorkDir.tail(serialLog(), 25).strip());
        return b.toString();
    }

    /** Ends the QEMU process (QMP quit, then SIGKILL after a short grace) but keeps the work directory. */
    synchronized void quit() {
        closeClient();
        stopVmm();
    }

    /** QMP quit, and up to 3 s for QEMU to exit. */
    @Override
    protected void stopVmm() {
        if (process.isAlive() && qmp != null) {
            try {
                qmp.execute("quit", null, Duration.ofSeconds(2));
            } catch (RuntimeException ignored) {
                // killed by close, or below
            }
        }
        process.awaitExit(Duration.ofSeconds(3));
    }

    @Override
    protected void releaseResources() {
        if (qmp != null) {
            qmp.close();
        }
    }

    @Override
    public String toString() {
        return "qemu VM " + spec.function() + " (pid " + process.pid() + ", port " + port + ")";
    }
}
