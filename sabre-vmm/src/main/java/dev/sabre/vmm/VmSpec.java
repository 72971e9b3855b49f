package dev.sabre.vmm;


import java.time.Duration;
import java.util.Objects;

/**
 * What to boot: a function's guest images, the guest memory size, vCPUs, how long the function may
 * take to come up, and the accelerator ({@code null} picks one automatically: hardware KVM when it
 * really works, TCG otherwise).
 *
 * @param image        kernel, initramfs and root file system of the function
 * @param memoryMiB    guest RAM in MiB (also the size of the memory file and of every snapshot)
 * @param vcpus        number of virtual CPUs
 * @param readyTimeout bound on boot until the function answers (and on a restore until it resumes)
 * @param accelerator  forced accelerator, or null for automatic
 */
public record VmSpec(GuestImage image, long memoryMiB, int vcpus, Duration readyTimeout, Accelerator accelerator) {
    public static final long DEFAULT_MEMORY_MIB = 512;
    public static final Duration DEFAULT_READY_TIMEOUT = Duration.ofSeconds(240);

    public VmSpec {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(readyTimeout, "readyTimeout");
        if (memoryMiB < 64 || memoryMiB > 1 << 20) {
            throw new VmmException("guest memory must be between 64 MiB and 1 TiB, not " + memoryMiB + " MiB");
        }
        if (vcpus < 1 || vcpus > 64) {
            throw new VmmException("vcpus must be between 1 and 64, not " + vcpus);
        }
    }

    /** 512 MiB, one vCPU, a 240 s bound, automatic accelerator. */
    public static VmSpec of(GuestImage image) {
        return new VmSpec(image, DEFAULT_MEMORY_MIB, 1, DEFAULT_READY_TIMEOUT, null);
    }

    public String function() {
        return image.function();
    }

    public long memoryBytes() {
        return memoryMiB << 20;
    }

    public VmSpec withMemoryMiB(long mib) {
        return new VmSpec(image, mib, vcpus, readyTimeout, accelerator);
    }

    public VmSpec withReadyTimeout(Duration timeout) {
        return new VmSpec(image, memoryMiB, vcpus, timeout, accelerator);
    }

    public VmSpec withAccelerator(Accelerator acc) {
        return new VmSpec(image, memoryMiB, vcpus, readyTimeout, acc);
    }

    public VmSpec withImage(GuestImage other) {
        return new VmSpec(other, memoryMiB, vcpus, readyTimeout, accelerator);
    }
}
