package dev.sabre.cli.vm;

import dev.sabre.vmm.GuestImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code sabre vm build FUNCTION}: builds (or finds in the cache) the function's kernel, initramfs and root file system. */
@Command(name = "build", mixinStandardHelpOptions = true,
        description = "Build the guest images of a function (cached; rebuilt only when its inputs change).")
public final class VmBuildCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FUNCTION", description = "A directory of functions/, e.g. fibonacci.")
    String function;

    @Mixin
    VmOptions vm;

    @Override
    public Integer call() {
        GuestImage image = vm.orchestrator().build(function);
        System.out.printf("%s: kernel %s%n%s: initramfs %s%n%s: rootfs %s%n", function, image.kernel(), function,
                image.initramfs(), function, image.rootfs());
        return 0;
    }
}
