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
 * @param hugePages    guest RAM on the host's 2 MiB hugetlb pages (Firecracker's {@code huge_pages: "2M"}), which
 *                     the caller reserves; a restore with them needs a {@link MemoryBackend.Uffd} handler
 */
public record VmSpec(GuestImage image, long memoryMiB, int vcpus, Duration readyTimeout, Accelerator accelerator,
                     boolean hugePages) {
    public static final long DEFAULT_MEMORY_MIB = 512;
    public static final Duration DEFAULT_READY_TIMEOUT = Duration.ofSeconds(240);
    /** The size of a huge page of guest RAM: 2 MiB. */
    public static final long HUGE_PAGE_BYTES = 2L << 20;

    public VmSpec {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(readyTimeout, "readyTimeout");
        if (memoryMiB < 64 || memoryMiB > 1 << 20) {
            throw new VmmException("guest memory must be between 64 MiB and 1 TiB, not " + memoryMiB + " MiB");
        }
        if (vcpus < 1 || vcpus > 64) {
            throw new VmmException("vcpus must be between 1 and 64, not " + vcpus);
        }
        if (hugePages && memoryMiB % (HUGE_PAGE_BYTES >> 20) != 0) {
            throw new VmmException("guest memory on 2 MiB huge pages must be a multiple of 2 MiB, not " + memoryMiB + " MiB");
        }
    }

    /** On 4 KiB pages. */
    public VmSpec(GuestImage image, long memoryMiB, int vcpus, Duration readyTimeout, Accelerator accelerator) {
        this(image, memoryMiB, vcpus, readyTimeout, accelerator, false);
    }

    /** 512 MiB, one vCPU, a 240 s bound, automatic accelerator. */
    public static VmSpec of(GuestImage image) {
        return new VmSpec(image, DEFAULT_MEMORY_MIB, 1, DEFAULT_READY_TIMEOUT, null, false);
    }

    public String function() {
        return image.function();
    }

    public long memoryBytes() {
        return memoryMiB << 20;
    }

    public VmSpec withMemoryMiB(long mib) {
        return new VmSpec(image, mib, vcpus, readyTimeout, accelerator, hugePages);
    }

    public VmSpec withReadyTimeout(Duration timeout) {
        return new VmSpec(image, memoryMiB, vcpus, timeout, accelerator, hugePages);
    }

    public VmSpec withAccelerator(Accelerator acc) {
        return new VmSpec(image, memoryMiB, vcpus, readyTimeout, acc, hugePages);
    }

    public VmSpec withImage(GuestImage other) {
        return new VmSpec(other, memoryMiB, vcpus, readyTimeout, accelerator, hugePages);
    }

    public VmSpec withHugePages(boolean huge) {
        return new VmSpec(image, memoryMiB, vcpus, readyTimeout, accelerator, huge);
    }

    /** The guest RAM's page size in bytes: 2 MiB on huge pages, else 4 KiB. */
    public long pageSize() {
        return hugePages ? HUGE_PAGE_BYTES : 4096;
    }

    /** How many 2 MiB pages the host must have free for one such VM (0 on 4 KiB pages). */
    public long hugePagesNeeded() {
        return hugePages ? memoryBytes() / HUGE_PAGE_BYTES : 0;
    }
}
