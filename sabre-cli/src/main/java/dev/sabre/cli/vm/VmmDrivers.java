package dev.sabre.cli.vm;

import dev.sabre.firecracker.FirecrackerConfig;
import dev.sabre.firecracker.FirecrackerDriver;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmDriver;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.image.Cache;
import dev.sabre.vmm.qemu.QemuDriver;

/** The one place that turns a VMM name into a driver, so every command runs on either VMM unchanged. */
public final class VmmDrivers {
    public static final String DEFAULT = "qemu";

    private VmmDrivers() {
    }

    /** {@code qemu} (the embedded default) or {@code firecracker} (its binary from $SABRE_FIRECRACKER or the PATH). */
    public static VmmDriver create(String name, Cache cache, StepLog progress) {
        return switch (name) {
            case "qemu" -> new QemuDriver(cache, progress);
            case "firecracker" -> new FirecrackerDriver(FirecrackerConfig.of(FirecrackerConfig.locate(null)), progress);
            default -> throw new VmmException("unknown VMM '" + name + "' (expected qemu or firecracker)");
        };
    }
}
