package dev.sabre.vmm;

import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A process this JVM started and must not leave behind (a VMM, a page-fault handler): registered from the
 * moment it starts with what must go with it (work directory, TAP device), stopped with a grace period
 * before SIGKILL, and killed with its leftovers by a shutdown hook if the JVM exits while it still runs.
 */
public final class ChildProcess {
    private static final Duration KILL_WAIT = Duration.ofSeconds(10);
    private static final Set<ChildProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        // A JVM that exits abruptly (Ctrl-C, an uncaught error) leaves no VMM, handler or socket behind.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(ChildProcess::killAtExit), "sabre-reaper"));
    }

    private final Process process;
    private final Runnable leftovers;

    private ChildProcess(Process process, Runnable leftovers) {
        this.process = process;
        this.leftovers = leftovers;
        LIVE.add(this);
    }

    /**
     * Starts {@code builder}'s command; {@code leftovers} (removing its work directory ...) runs if the JVM
     * exits before {@link #release}.
     */
    public static ChildProcess start(ProcessBuilder builder, Runnable leftovers) throws IOException {
        return new ChildProcess(builder.start(), leftovers);
    }

    /**
     * A loopback port nobody listens on now, for a child server to listen on. Another process may take it before
     * the child binds it, so callers retry on a failed start.
     */
    public static int freeLoopbackPort() throws IOException {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    public Process process() {
        return process;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Whether the process has exited or exits within {@code timeout} (an interrupt answers for now). */
    public boolean exitsWithin(Duration timeout) {
        try {
            return process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    /** SIGTERM, then {@link #awaitExit}. */
    public void stop(Duration grace) {
        if (process.isAlive()) {
            process.destroy();
        }
        awaitExit(grace);
    }

    /**
     * Waits up to {@code grace} for the process to exit (after it was asked to), then SIGKILLs it and waits
     * for the kernel to reap it; an interrupt kills it at once.
     */
    public void awaitExit(Duration grace) {
        try {
            if (!process.waitFor(grace.toNanos(), TimeUnit.NANOSECONDS)) {
                process.destroyForcibly();
                process.waitFor(KILL_WAIT.toNanos(), TimeUnit.NANOSECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }

    /** The owner stopped the process and cleaned up after it: the shutdown hook no longer needs to. */
    public void release() {
        LIVE.remove(this);
    }

    /** Last resort at JVM exit: SIGKILL, then the leftovers. */
    private void killAtExit() {
        process.destroyForcibly();
        try {
            process.waitFor(2, TimeUnit.SECONDS);
            leftovers.run();
        } catch (InterruptedException | RuntimeException ignored) {
            // exiting anyway
        }
    }
}
