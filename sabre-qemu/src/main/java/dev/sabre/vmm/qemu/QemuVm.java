package dev.sabre.vmm.qemu;

import dev.sabre.vmm.ChildProcess;
import dev.sabre.vmm.Vm;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;
import dev.sabre.vmm.grpc.GreeterClient;

import java.nio.file.Path;
import java.time.Duration;

/**
 * One QEMU process and what belongs to it: its work directory (memory file of a booted VM, QMP socket,
 * serial and QEMU logs), its QMP connection, the host port QEMU forwards to the guest's gRPC server and
 * its gRPC client. The process is a {@link ChildProcess}, so even a JVM that exits abruptly leaves no
 * QEMU behind.
 */
final class QemuVm implements Vm {
    private static final Duration EXIT_GRACE = Duration.ofMillis(500);

    final VmSpec spec;
    final Path workDir;
    final ChildProcess process;
    final Path memoryFile;
    final boolean restored;
    QmpClient qmp;
    /** The forwarded host port, chosen by QEMU (the OS) and known once QMP is up; 0 until then. */
    private volatile int port;
    private GreeterClient client;
    private boolean closed;

    QemuVm(VmSpec spec, Path workDir, ChildProcess process, Path memoryFile, boolean restored) {
        this.spec = spec;
        this.workDir = workDir;
        this.process = process;
        this.memoryFile = memoryFile;
        this.restored = restored;
    }

    @Override
    public VmSpec spec() {
        return spec;
    }

    @Override
    public int hostPort() {
        return port;
    }

    void forwardedPort(int hostPort) {
        this.port = hostPort;
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

    @Override
    public Path workDir() {
        return workDir;
    }

    @Override
    public boolean isAlive() {
        return process.isAlive();
    }

    synchronized GreeterClient client() {
        if (port == 0) {
            throw new VmmException(this + " has no forwarded port yet");
        }
        if (client == null) {
            client = new GreeterClient("127.0.0.1", port);
        }
        return client;
    }

    synchronized void closeClient() {
        if (client != null) {
            client.close();
            client = null;
        }
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

    /** Quits QEMU over QMP, kills it when that does not work at once, and deletes the work directory. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            quit();
        } finally {
            if (qmp != null) {
                qmp.close();
            }
            process.awaitExit(Duration.ZERO);
            WorkDir.release(workDir);
            process.release();
        }
    }

    /** Ends the QEMU process (QMP quit, then SIGKILL after a short grace) but keeps the work directory. */
    synchronized void quit() {
        closeClient();
        if (process.isAlive() && qmp != null) {
            try {
                qmp.execute("quit", null, Duration.ofSeconds(2));
            } catch (RuntimeException ignored) {
                // killed below
            }
        }
        process.awaitExit(Duration.ofSeconds(3));
    }

    @Override
    public String toString() {
        return "qemu VM " + spec.function() + " (pid " + process.pid() + ", port " + port + ")";
    }
}
