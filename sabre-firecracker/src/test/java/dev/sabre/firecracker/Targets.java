package dev.sabre.firecracker;

import dev.sabre.firecracker.standin.FirecrackerStandIn;
import dev.sabre.firecracker.standin.OpenApiSpec;
import dev.sabre.vmm.GuestImage;
import dev.sabre.vmm.VmSpec;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

/** What the driver tests run against: the stand-in everywhere, the real Firecracker where it can run. */
final class Targets {
    private Targets() {
    }

    /**
     * Writes an executable {@code firecracker} script into {@code dir} that runs the stand-in on this
     * test's class path, with the function's gRPC server on {@code guestPort}.
     */
    static Path standInBinary(Path dir, int guestPort) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path script = dir.resolve("firecracker");
        String text = "#!/bin/sh\n"
                + "export " + FirecrackerStandIn.ENV_GUEST_PORT + "=" + guestPort + "\n"
                + "exec '" + java + "' --enable-native-access=ALL-UNNAMED -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
                + " -D" + OpenApiSpec.PROPERTY + "='" + OpenApiSpec.locate().getParent() + "'"
                + " -cp '" + System.getProperty("java.class.path") + "' " + FirecrackerStandIn.class.getName() + " \"$@\"\n";
        return script(script, text);
    }

    /** Writes an executable shell script. */
    static Path script(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    /** Guest "images" for the stand-in, which only checks that they exist. */
    static VmSpec standInSpec(Path dir) throws IOException {
        Path kernel = Files.writeString(dir.resolve("vmlinux"), "stand-in kernel");
        Path initrd = Files.writeString(dir.resolve("initrd.cpio"), "stand-in initramfs");
        Path rootfs = Files.writeString(dir.resolve("rootfs.ext4"), "stand-in root");
        GuestImage image = new GuestImage("fibonacci", kernel, initrd, rootfs, "standin1");
        return new VmSpec(image, 64, 1, Duration.ofSeconds(60), null);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * Null when a real Firecracker can run here (a binary from $SABRE_FIRECRACKER or the PATH, and
     * hardware KVM), else why not.
     */
    static String whyNoRealFirecracker() {
        String env = System.getenv(FirecrackerConfig.ENV_BINARY);
        Path binary = env != null && !env.isBlank() ? Path.of(env) : FirecrackerConfig.onPath("firecracker");
        if (binary == null || !Files.isExecutable(binary)) {
            return "no firecracker binary ($" + FirecrackerConfig.ENV_BINARY + " unset and none on the PATH)";
        }
        if (!Files.exists(Path.of("/dev/kvm"))) {
            return "no /dev/kvm";
        }
        if (Files.exists(Path.of("/sys/module/kvm_pvm"))) {
            return "/dev/kvm is served by kvm_pvm (software nested virtualization), which cannot run Firecracker guests";
        }
        if (!Files.exists(Path.of("/sys/module/kvm_intel")) && !Files.exists(Path.of("/sys/module/kvm_amd"))) {
            return "no hardware KVM module (kvm_intel or kvm_amd) is loaded";
        }
        return null;
    }
}
