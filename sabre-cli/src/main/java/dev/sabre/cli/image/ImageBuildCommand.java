package dev.sabre.cli.image;

import dev.sabre.oci.ImageRef;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.image.Cache;
import dev.sabre.vmm.image.FunctionCatalog;
import dev.sabre.vmm.image.FunctionImageBuilder;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sabre image build FUNCTION [--push REF]}: a function's image built FROM the project's Debian base. */
@Command(name = "build", mixinStandardHelpOptions = true,
        description = {"Build functions/FUNCTION/Dockerfile, else functions/Dockerfile, with buildah (--isolation chroot; "
                + "context: functions/) FROM the project's base image, made from the cached Debian base root file "
                + "system (bookworm minbase, python3, gRPC); build arguments SABRE_BASE and FUNCTION.",
                "The image is localhost/sabre-function/FUNCTION:latest in buildah's storage; --push copies it to a registry."})
public final class ImageBuildCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FUNCTION", description = "A directory of functions/, e.g. fibonacci.")
    String function;

    @Option(names = "--push", paramLabel = "REF", description = "Push the image to host:port/repo:tag.")
    String push;

    @Mixin
    RegistryOptions registry;

    @Override
    public Integer call() {
        long start = System.nanoTime();
        ImageRef destination = push == null ? null : ImageRef.parse(push);
        FunctionImageBuilder builder = new FunctionImageBuilder(Cache.defaultCache(), FunctionCatalog.locate(), StepLog.stderr());
        FunctionImageBuilder.Built built = builder.build(function);
        if (destination != null) {
            builder.push(built.image(), destination, registry.insecure, registry.authFile);
        }
        System.out.printf("built %s from %s%s in %.1f s%n", built.image(), built.dockerfile(),
                destination == null ? "" : " and pushed it to " + destination, (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
