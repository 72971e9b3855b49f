package dev.sabre.vmm.qemu;

import dev.sabre.vmm.Vm;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.grpc.GreeterClient;
import dev.sabre.vmm.image.Cache;
import dev.sabre.vmm.image.Commands;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One QEMU process and what belongs to it: its work directory (memory file of a booted VM, QMP socket,
 * serial and QEMU logs), its QMP connection and its gRPC client. Every live VM is also known to a
 * shutdown hook, so even a JVM that exits abruptly leaves no QEMU behind.
 */
final class QemuVm implements Vm {
    private static final Set<QemuVm> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(QemuVm::kill), "sabre-qemu-reaper"));
    }

    final VmSpec spec;
    final Path workDir;
    final Process process;
    final int port;
    final Path memoryFile;
    final boolean restored;
    QmpClient qmp;
    private GreeterClient client;
    private boolean closed;

    QemuVm(VmSpec spec, Path workDir, Process process, int port, Path memoryFile, boolean restored) {
        this.spec = spec;
        this.workDir = workDir;
        this.process = process;
        this.port = port;
        this.memoryFile = memoryFile;
        this.restored = restored;
        LIVE.add(this);
    }

    @Override
    public VmSpec spec() {
        return spec;
    }

    @Override
    public int hostPort() {
        return port;
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
    String diagnostics() {
        StringBuilder b = new StringBuilder();
        if (!process.isAlive()) {
            b.append("QEMU exited with status ").append(process.exitValue()).append('\n');
        }
        String qemu = Commands.tail(qemuLog(), 15).strip();
        if (!qemu.isEmpty()) {
            b.append("--- QEMU output (").append(qemuLog().getFileName()).append(") ---\n").append(qemu).append('\n');
        }
        b.append("--- serial console, last lines ---\n").append(Commands.tail(serialLog(), 25).strip());
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
            if (process.isAlive()) {
                process.destroyForcibly();
            }
            LIVE.remove(this);
            if (!Boolean.getBoolean("sabre.keepVmDirs")) {
                Cache.deleteTree(workDir);
            }
        }
    }

    /** Ends the QEMU process (QMP quit, then SIGKILL after a short grace) but keeps the work directory. */
    synchronized void quit() {
        try {
            closeClient();
            if (process.isAlive() && qmp != null) {
                try {
                    qmp.execute("quit", null, Duration.ofSeconds(2));
                } catch (RuntimeException ignored) {
                    // killed below
                }
            }
            try {
                if (!process.waitFor(3, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }

    /** Last resort at JVM exit: SIGKILL, then remove the work directory. */
    private void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(2, TimeUnit.SECONDS);
            Cache.deleteTree(workDir);
        } catch (InterruptedException | RuntimeException ignored) {
            // exiting anyway
        }
    }

    @Override
    public String toString() {
        return "qemu VM " + spec.function() + " (pid " + process.pid() + ", port " + port + ")";
    }
}
