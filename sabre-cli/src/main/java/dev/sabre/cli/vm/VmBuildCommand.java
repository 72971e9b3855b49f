package dev.sabre.cli.vm;

import dev.sabre.e2e.Orchestrator;
import dev.sabre.vmm.GuestImage;
import dev.sabre.vmm.image.FunctionImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code sabre vm build FUNCTION [--image REF]}: builds (or finds in the cache) the function's kernel, initramfs
 * and root file system; with {@code --image}, first defines the function as that container image.
 */
@Command(name = "build", mixinStandardHelpOptions = true,
        description = {"Build the guest images of a function (cached; rebuilt only when its inputs change).",
                "With --image REF the function NAME runs that container image (host:port/repo:tag, ...@sha256:..., "
                        + "oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE); the definition is kept in "
                        + "$SABRE_CACHE/functions/NAME/image, after which vm run, snapshot, restore and e2e take NAME."})
public final class VmBuildCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FUNCTION", description = "A directory of functions/, e.g. fibonacci, or a name for --image.")
    String function;

    @Option(names = "--image", paramLabel = "REF", description = "Define FUNCTION as this container image, then build it.")
    String image;

    @Option(names = "--insecure-registry",
            description = "With --image: allow plain http and unverified TLS for a registry that is not on this machine "
                    + "(loopback registries always may); kept with the definition.")
    boolean insecureRegistry;

    @Option(names = "--authfile", paramLabel = "FILE",
            description = "With --image: the registry's credentials, a containers auth file as `skopeo login` writes it "
                    + "(default: skopeo's own); its path, never its content, is kept with the definition.")
    Path authFile;

    @Mixin
    VmOptions vm;

    @Override
    public Integer call() {
        long start = System.nanoTime();
        Orchestrator orchestrator = vm.orchestrator();
        GuestImage built;
        if (image != null) {
            built = orchestrator.images().define(function, new FunctionImage(image, insecureRegistry, authFile));
        } else if (insecureRegistry || authFile != null) {
            throw new IllegalArgumentException((insecureRegistry ? "--insecure-registry" : "--authfile") + " goes with --image");
        } else {
            built = orchestrator.build(function);
        }
        System.out.printf("%s: kernel %s%n%s: initramfs %s%n%s: rootfs %s%n", function, built.kernel(), function,
                built.initramfs(), function, built.rootfs());
        System.out.printf("%s: built in %.2f s%n", function, (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
