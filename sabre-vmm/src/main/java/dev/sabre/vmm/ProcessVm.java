package dev.sabre.vmm;

import dev.sabre.vmm.grpc.GreeterClient;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A VM whose VMM is one {@link ChildProcess} running in a work directory: what every driver's VM shares,
 * written once. It opens the function client on first use, and its {@link #close} is idempotent and
 * complete: it asks the VMM to stop, kills it if it does not, frees what else it holds, removes the work
 * directory and stops supervising the process. A driver says where the function answers, how its VMM stops
 * gently and what else to free.
 */
public abstract class ProcessVm implements Vm {
    protected final VmSpec spec;
    protected final Path workDir;
    protected final ChildProcess process;
    private GreeterClient client;
    private boolean closed;

    protected ProcessVm(VmSpec spec, Path workDir, ChildProcess process) {
        this.spec = spec;
        this.workDir = workDir;
        this.process = process;
    }

    @Override
    public VmSpec spec() {
        return spec;
    }

    @Override
    public Path workDir() {
        return workDir;
    }

    @Override
    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    /** The VMM's process, to wait for its end or read its exit status. */
    public Process vmmProcess() {
        return process.process();
    }

    /** Where the function's gRPC server answers, as host address and port (known once the VMM is up). */
    protected abstract InetSocketAddress functionAddress();

    /** The function client, opened on first use. */
    public synchronized GreeterClient client() {
        if (client == null) {
            InetSocketAddress address = functionAddress();
            client = new GreeterClient(address.getHostString(), address.getPort());
        }
        return client;
    }

    /** Closes the function client's connection; the next {@link #client()} opens a new one. */
    public synchronized void closeClient() {
        if (client != null) {
            client.close();
            client = null;
        }
    }

    /** Asks the VMM to end and waits a grace period for it; {@link #close} kills it if it is still running. */
    protected abstract void stopVmm();

    /** Frees what the VM holds besides its process and work directory (a QMP connection, a TAP device, a jail). */
    protected void releaseResources() {
    }

    @Override
    public final synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            closeClient();
            stopVmm();
        } finally {
            process.awaitExit(Duration.ZERO);
            try {
                releaseResources();
            } finally {
                WorkDir.release(workDir);
                process.release();
            }
        }
    }
}
