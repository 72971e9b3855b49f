package dev.sabre.cli.vm;

import dev.sabre.e2e.Orchestrator;
import dev.sabre.e2e.VmSettings;
import dev.sabre.vmm.Accelerator;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.image.ImageBuilder;
import picocli.CommandLine.Option;

import java.time.Duration;

/** Options every VM command shares: the VMM, guest memory, the bound on coming up and answering, the accelerator. */
public final class VmOptions {
    @Option(names = "--vmm", paramLabel = "NAME", description = "qemu (default) or firecracker.")
    String vmm = VmmDrivers.DEFAULT;

    @Option(names = "--memory", paramLabel = "MIB", description = "Guest memory in MiB (default ${DEFAULT-VALUE}).")
    long memoryMiB = VmSpec.DEFAULT_MEMORY_MIB;

    @Option(names = "--timeout", paramLabel = "SECONDS",
            description = "Bound on a VM coming up, resuming and answering (default ${DEFAULT-VALUE}).")
    long timeoutSeconds = VmSpec.DEFAULT_READY_TIMEOUT.toSeconds();

    @Option(names = "--accel", paramLabel = "ACCEL", description = "kvm or tcg (default: hardware KVM when it really works, TCG otherwise).")
    String accel;

    @Option(names = "--handler-threads", paramLabel = "N",
            description = "Cores the handler's prefetches and eager restores may compute on (default: all but one, "
                    + "leaving the VMM a core of its own; ${DEFAULT-VALUE} here); with O_DIRECT as many more threads "
                    + "keep reads in flight.")
    int handlerThreads = Math.max(1, Runtime.getRuntime().availableProcessors() - 1);

    /** An orchestrator on the standard image cache and functions directory, progress on stderr. */
    public Orchestrator orchestrator() {
        StepLog progress = StepLog.stderr();
        ImageBuilder images = ImageBuilder.standard(progress);
        VmSettings settings = VmSettings.defaults().withMemoryMiB(memoryMiB)
                .withReadyTimeout(Duration.ofSeconds(timeoutSeconds))
                .withAccelerator(accel == null ? null : Accelerator.parse(accel));
        return new Orchestrator(VmmDrivers.create(vmm, images.cache(), progress), images, settings, progress)
                .withHandlerThreads(handlerThreads);
    }
}
