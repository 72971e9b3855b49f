package dev.sabre.vmm.qemu;

import dev.sabre.vmm.Accelerator;
import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Picks QEMU's accelerator. {@code /dev/kvm} alone proves little: on nested clouds it can be a software
 * module ({@code kvm_pvm}) that cannot run a Linux guest and makes {@code -cpu host} abort. So KVM is
 * chosen only when the hardware module (kvm_intel or kvm_amd) is loaded, no software one is, and a
 * short QEMU probe with {@code -accel kvm -cpu host} starts cleanly; TCG otherwise. {@code SABRE_ACCEL}
 * or the system property {@code sabre.accel} ({@code kvm}/{@code tcg}) forces a choice.
 */
public final class AcceleratorDetector {
    private static volatile Accelerator detected;

    private AcceleratorDetector() {
    }

    /** The forced accelerator if any, else the detected one (probed once per JVM). */
    public static Accelerator choose(Path qemu) {
        String forced = System.getProperty("sabre.accel");
        if (forced == null || forced.isBlank()) {
            forced = System.getenv("SABRE_ACCEL");
        }
        if (forced != null && !forced.isBlank()) {
            return Accelerator.parse(forced);
        }
        Accelerator a = detected;
        if (a == null) {
            a = hardwareKvmUsable(qemu) ? Accelerator.KVM : Accelerator.TCG;
            detected = a;
        }
        return a;
    }

    /** Why KVM is (not) used, for messages. */
    public static String explain() {
        Path kvm = Path.of("/dev/kvm");
        if (!Files.exists(kvm)) {
            return "no /dev/kvm";
        }
        if (Files.exists(Path.of("/sys/module/kvm_pvm"))) {
            return "/dev/kvm is the software module kvm_pvm, which cannot run Linux guests";
        }
        if (!Files.exists(Path.of("/sys/module/kvm_intel")) && !Files.exists(Path.of("/sys/module/kvm_amd"))) {
            return "neither kvm_intel nor kvm_amd is loaded";
        }
        return "hardware KVM module loaded";
    }

    static boolean hardwareKvmUsable(Path qemu) {
        Path kvm = Path.of("/dev/kvm");
        if (!Files.isReadable(kvm) || !Files.isWritable(kvm)) {
            return false;
        }
        if (Files.exists(Path.of("/sys/module/kvm_pvm"))) {
            return false;
        }
        if (!Files.exists(Path.of("/sys/module/kvm_intel")) && !Files.exists(Path.of("/sys/module/kvm_amd"))) {
            return false;
        }
        return probe(qemu);
    }

    /** Starts QEMU paused with -accel kvm -cpu host and quits it over QMP on stdio; true on a clean exit. */
    private static boolean probe(Path qemu) {
        Process p = null;
        try {
            p = new ProcessBuilder(List.of(qemu.toString(), "-M", "microvm", "-accel", "kvm", "-cpu", "host",
                    "-m", "64M", "-nodefaults", "-no-user-config", "-display", "none", "-S", "-qmp", "stdio"))
                    .redirectErrorStream(true).start();
            p.getOutputStream().write(("{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"quit\"}\n")
                    .getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().flush();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                return false;
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.exitValue() == 0 && out.contains("\"return\"");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException("interrupted while probing KVM", e);
        } finally {
            if (p != null && p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }
}
