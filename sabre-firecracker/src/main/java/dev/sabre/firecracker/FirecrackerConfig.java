package dev.sabre.firecracker;

import dev.sabre.vmm.VmmException;

import java.io.File;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How the Firecracker driver runs VMs.
 *
 * @param binary        the {@code firecracker} executable ({@link #locate(Path)} finds one)
 * @param jailer        run under the jailer, or null to run Firecracker directly
 * @param apiTimeout    bound on the API socket appearing and on each API request
 * @param tap           give each VM a TAP device (needs root and {@code ip}); the guest image's init
 *                      configures 10.0.2.15/24 with gateway 10.0.2.2, which the driver puts on the TAP
 * @param vsock         give each VM a vsock device (CID 3) backed by {@code vsock.sock} in its work dir
 * @param guestEndpoint where the function's gRPC server answers (10.0.2.15:50051 through the TAP)
 */
public record FirecrackerConfig(Path binary, Jailer jailer, Duration apiTimeout, boolean tap, boolean vsock,
                                InetSocketAddress guestEndpoint) {
    /** The environment variable naming the binary when no path is given. */
    public static final String ENV_BINARY = "SABRE_FIRECRACKER";
    public static final InetSocketAddress DEFAULT_GUEST = new InetSocketAddress("10.0.2.15", 50051);

    public FirecrackerConfig {
        Objects.requireNonNull(binary, "binary");
        Objects.requireNonNull(apiTimeout, "apiTimeout");
        Objects.requireNonNull(guestEndpoint, "guestEndpoint");
    }

    /** The defaults for {@code binary}: no jailer, 10 s API timeout, TAP networking, vsock. */
    public static FirecrackerConfig of(Path binary) {
        return new FirecrackerConfig(binary, null, Duration.ofSeconds(10), true, true, DEFAULT_GUEST);
    }

    public FirecrackerConfig withJailer(Jailer j) {
        return new FirecrackerConfig(binary, j, apiTimeout, tap, vsock, guestEndpoint);
    }

    public FirecrackerConfig withApiTimeout(Duration t) {
        return new FirecrackerConfig(binary, jailer, t, tap, vsock, guestEndpoint);
    }

    public FirecrackerConfig withTap(boolean on) {
        return new FirecrackerConfig(binary, jailer, apiTimeout, on, vsock, guestEndpoint);
    }

    public FirecrackerConfig withVsock(boolean on) {
        return new FirecrackerConfig(binary, jailer, apiTimeout, tap, on, guestEndpoint);
    }

    public FirecrackerConfig withGuestEndpoint(InetSocketAddress endpoint) {
        return new FirecrackerConfig(binary, jailer, apiTimeout, tap, vsock, endpoint);
    }

    /**
     * Finds the {@code firecracker} binary: {@code explicit} (from {@code --firecracker-bin}) if given,
     * else {@code $SABRE_FIRECRACKER}, else the first {@code firecracker} on the PATH; fails with a message
     * saying where it looked.
     */
    public static Path locate(Path explicit) {
        if (explicit != null) {
            return requireExecutable(explicit, "--firecracker-bin");
        }
        String env = System.getenv(ENV_BINARY);
        if (env != null && !env.isBlank()) {
            return requireExecutable(Path.of(env), "$" + ENV_BINARY);
        }
        Path found = onPath("firecracker");
        if (found == null) {
            throw new VmmException("no firecracker binary: pass --firecracker-bin, set $" + ENV_BINARY
                    + " or put firecracker on the PATH (" + System.getenv("PATH") + ")");
        }
        return found;
    }

    /** The first executable named {@code name} on the PATH, or null. */
    public static Path onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    private static Path requireExecutable(Path p, String source) {
        if (!Files.isRegularFile(p)) {
            throw new VmmException("firecracker binary " + p + " (from " + source + ") does not exist");
        }
        if (!Files.isExecutable(p)) {
            throw new VmmException("firecracker binary " + p + " (from " + source + ") is not executable");
        }
        return p;
    }
}
