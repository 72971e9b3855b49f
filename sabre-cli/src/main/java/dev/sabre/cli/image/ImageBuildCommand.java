package dev.sabre.cli.image;

import dev.sabre.oci.Buildah;
import dev.sabre.oci.ImageRef;
import dev.sabre.vmm.image.Cache;
import dev.sabre.vmm.image.FunctionCatalog;
import dev.sabre.vmm.image.FunctionSource;
import dev.sabre.vmm.image.RootfsBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
    static final String BASE_REPOSITORY = "localhost/sabre-base";

    @Parameters(index = "0", paramLabel = "FUNCTION", description = "A directory of functions/, e.g. fibonacci.")
    String function;

    @Option(names = "--push", paramLabel = "REF", description = "Push the image to host:port/repo:tag.")
    String push;

    @Mixin
    RegistryOptions registry;

    @Override
    public Integer call() throws IOException {
        long start = System.nanoTime();
        java.util.function.Consumer<String> step = line -> System.err.println("[sabre] " + line);
        FunctionCatalog catalog = FunctionCatalog.locate();
        FunctionSource source = catalog.get(function);
        // A function's own Dockerfile, else the one every function shares.
        Path dockerfile = source.dir().resolve("Dockerfile");
        if (!Files.isRegularFile(dockerfile)) {
            dockerfile = catalog.root().resolve("Dockerfile");
        }
        if (!Files.isRegularFile(dockerfile)) {
            throw new IllegalArgumentException("function " + function + " has no Dockerfile, nor has "
                    + catalog.root());
        }
        ImageRef destination = push == null ? null : ImageRef.parse(push);
        Cache cache = Cache.defaultCache();
        Path baseTree = new RootfsBuilder(cache, step::accept).base();
        // The base image is named after the base tree, whose name hashes its inputs.
        String baseImage = BASE_REPOSITORY + ":" + baseTree.getFileName().toString().replaceFirst("^base-", "");
        Buildah buildah = new Buildah(Duration.ofMinutes(60));
        if (!buildah.hasImage(baseImage)) {
            step.accept("importing the Debian base " + baseTree + " as " + baseImage);
            buildah.importRootfs(baseTree, baseImage, List.of("/usr/bin/python3"), cache.dir("image-build"));
        }
        String image = "localhost/sabre-function/" + function + ":latest";
        step.accept("buildah bud " + dockerfile + " FROM " + baseImage);
        buildah.buildDockerfile(catalog.root(), dockerfile, image,
                Map.of("SABRE_BASE", baseImage, "FUNCTION", function));
        if (destination != null) {
            step.accept("pushing " + image + " to " + destination);
            buildah.push(image, destination, registry.insecure, registry.authFile);
        }
        System.out.printf("built %s from %s%s in %.1f s%n", image, dockerfile,
                destination == null ? "" : " and pushed it to " + destination, (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
