package dev.sabre.firecracker;

import dev.sabre.vmm.ChildProcess;
import dev.sabre.vmm.ProcessVm;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One Firecracker process and what belongs to it: its work directory (API socket, console and log
 * output, vsock socket), its API client, its TAP device, its jail, and the snapshot its memory is
 * relative to (what a Diff snapshot of it must be merged onto). Being a {@link ProcessVm}, it is killed
 * with its TAP device and work directory if the JVM exits while it runs.
 */
public final class FirecrackerVm extends ProcessVm {
    final String id;
    final ApiClient api;
    final TapDevice tap;
    final Path jailRoot;
    final InetSocketAddress endpoint;
    final boolean vsock;
    /** The snapshot directory whose memory the guest memory is relative to, or null (booted: zeros). */
    Path base;
    boolean paused;

    FirecrackerVm(VmSpec spec, String id, Path workDir, ChildProcess process, ApiClient api, TapDevice tap, Path jailRoot,
                  InetSocketAddress endpoint, boolean vsock) {
        super(spec, workDir, process);
        this.id = id;
        this.api = api;
        this.tap = tap;
        this.jailRoot = jailRoot;
        this.endpoint = endpoint;
        this.vsock = vsock;
    }

    /** The function's gRPC port (on {@link #endpoint()}, which is not 127.0.0.1 when the guest sits behind a TAP). */
    @Override
    public int hostPort() {
        return endpoint.getPort();
    }

    /** Where the function's gRPC server answers. */
    public InetSocketAddress endpoint() {
        return endpoint;
    }

    @Override
    protected InetSocketAddress functionAddress() {
        return endpoint;
    }

    /** Firecracker's standard output: the guest's serial console and Firecracker's own log lines. */
    @Override
    public Path serialLog() {
        return workDir.resolve("firecracker.log");
    }

    public String id() {
        return id;
    }

    /** The API socket as the host sees it. */
    public Path apiSocket() {
        return api.socket();
    }

    /** The API, for requests the driver does not wrap. */
    public ApiClient api() {
        return api;
    }

    /** The TAP device, or null without networking. */
    public TapDevice tap() {
        return tap;
    }

    /** For error messages: how Firecracker ended and the tail of its output. */
    @Override
    public String diagnostics() {
        StringBuilder b = new StringBuilder();
        if (!process.isAlive()) {
            b.append("firecracker exited with status ").append(process.process().exitValue()).append('\n');
        }
        b.append("--- firecracker output (console and log), last lines ---\n").append(WorkDir.tail(serialLog(), 25).strip());
        return b.toString();
    }

    /** Closes the API connection and stops Firecracker: SIGTERM, and up to 2 s for it to exit. */
    @Override
    protected void stopVmm() {
        api.close();
        process.stop(Duration.ofSeconds(2));
    }

    /** Removes its TAP device and jail. */
    @Override
    protected void releaseResources() {
        if (tap != null) {
            tap.close();
        }
        if (jailRoot != null) {
            WorkDir.deleteTree(jailRoot.getParent());
        }
    }

    /** A path Firecracker can open: the host path itself, or inside a jail a hard link in its root. */
    String visible(Path host) {
        Path absolute = host.toAbsolutePath();
        if (jailRoot == null) {
            return absolute.toString();
        }
        try {
            Path link = jailRoot.resolve(absolute.getFileName().toString());
            Files.deleteIfExists(link);
            Files.createLink(link, absolute);
            return "/" + link.getFileName();
        } catch (IOException e) {
            throw new VmmException("cannot link " + host + " into the jail " + jailRoot
                    + " (it must be on the same file system): " + e.getMessage(), e);
        }
    }

    /** Where a file Firecracker writes at {@code name} (a bare file name) appears on the host. */
    Path written(Path hostTarget) {
        return jailRoot == null ? hostTarget.toAbsolutePath() : jailRoot.resolve(hostTarget.getFileName().toString());
    }

    @Override
    public String toString() {
        return "firecracker VM " + spec.function() + " (id " + id + ", pid " + process.pid() + ")";
    }
}
