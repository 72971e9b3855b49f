package dev.sabre.firecracker;

import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A host TAP device for one VM, made with {@code ip tuntap}: the host end gets the guest's gateway
 * address (10.0.2.2/24), so the host reaches the guest at 10.0.2.15 as on QEMU's user network. The
 * guest images configure a fixed address, so one VM with a TAP runs at a time.
 */
public final class TapDevice implements AutoCloseable {
    static final String HOST_ADDRESS = "10.0.2.2/24";

    private final String name;
    private boolean closed;

    private TapDevice(String name) {
        this.name = name;
    }

    /** Creates and brings up the TAP {@code name} (at most 15 characters); cleans up if any step fails. */
    public static TapDevice create(String name) {
        if (name.length() > 15) {
            throw new VmmException("TAP device name '" + name + "' is longer than 15 characters");
        }
        TapDevice tap = new TapDevice(name);
        try {
            ip("tuntap", "add", "dev", name, "mode", "tap");
            ip("addr", "add", HOST_ADDRESS, "dev", name);
            ip("link", "set", name, "up");
            return tap;
        } catch (RuntimeException e) {
            tap.close();
            throw e;
        }
    }

    public String name() {
        return name;
    }

    /** Deletes the device; harmless when it is already gone. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            ip("link", "delete", name);
        } catch (VmmException ignored) {
            // already gone
        }
    }

    private static void ip(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new VmmException(String.join(" ", cmd) + " did not finish");
            }
            if (p.exitValue() != 0) {
                throw new VmmException(String.join(" ", cmd) + " failed (status " + p.exitValue() + "): " + out);
            }
        } catch (IOException e) {
            throw new VmmException("cannot run " + String.join(" ", cmd) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException("interrupted running " + String.join(" ", cmd), e);
        }
    }

    @Override
    public String toString() {
        return "tap " + name;
    }
}
