package dev.sabre.e2e;

import dev.sabre.vmm.Accelerator;
import dev.sabre.vmm.GuestImage;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.VmmException;

import java.time.Duration;

/**
 * What every VM of a run gets: guest memory, a bound on coming up and on answering, and the accelerator
 * (null: automatic).
 */
public record VmSettings(long memoryMiB, Duration readyTimeout, Accelerator accelerator) {
    public VmSettings {
        if (readyTimeout == null || readyTimeout.isNegative() || readyTimeout.isZero()) {
            throw new VmmException("the VM timeout must be positive, not " + readyTimeout);
        }
    }

    /** 512 MiB, a 240 s bound, automatic accelerator. */
    public static VmSettings defaults() {
        return new VmSettings(VmSpec.DEFAULT_MEMORY_MIB, VmSpec.DEFAULT_READY_TIMEOUT, null);
    }

    public VmSettings withMemoryMiB(long mib) {
        return new VmSettings(mib, readyTimeout, accelerator);
    }

    public VmSettings withReadyTimeout(Duration timeout) {
        return new VmSettings(memoryMiB, timeout, accelerator);
    }

    public VmSettings withAccelerator(Accelerator acc) {
        return new VmSettings(memoryMiB, readyTimeout, acc);
    }

    public VmSpec spec(GuestImage image) {
        return VmSpec.of(image).withMemoryMiB(memoryMiB).withReadyTimeout(readyTimeout).withAccelerator(accelerator);
    }
}
