package dev.sabre.vmm.image;

import dev.sabre.oci.Buildah;
import dev.sabre.oci.ImageRef;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A function's container image, built with buildah from {@code functions/FUNCTION/Dockerfile}, else the shared
 * {@code functions/Dockerfile} (context: {@code functions/}, build arguments {@code SABRE_BASE} and
 * {@code FUNCTION}), FROM the project's base image: the cached Debian base root file system (bookworm minbase,
 * python3, gRPC), imported once per base as {@code localhost/sabre-base:KEY}. The result is
 * {@code localhost/sabre-function/FUNCTION:latest} in buildah's storage; {@link #push} copies it to a registry.
 * What {@code sabre image build} and {@code sabre e2e --images} run.
 */
public final class FunctionImageBuilder {
    public static final String BASE_REPOSITORY = "localhost/sabre-base";
    public static final String FUNCTION_REPOSITORY = "localhost/sabre-function/";

    /** A built image: its name in buildah's storage and the Dockerfile it came from. */
    public record Built(String image, Path dockerfile) {
    }

    private final Cache cache;
    private final FunctionCatalog catalog;
    private final StepLog progress;
    private final Buildah buildah = new Buildah(Duration.ofMinutes(60));

    public FunctionImageBuilder(Cache cache, FunctionCatalog catalog, StepLog progress) {
        this.cache = cache;
        this.catalog = catalog;
        this.progress = progress;
    }

    /** Builds the function's image, importing the base image first if buildah does not have it yet. */
    public Built build(String function) {
        FunctionSource source = catalog.get(function);
        // A function's own Dockerfile, else the one every function shares.
        Path dockerfile = source.dir().resolve("Dockerfile");
        if (!Files.isRegularFile(dockerfile)) {
            dockerfile = catalog.root().resolve("Dockerfile");
        }
        if (!Files.isRegularFile(dockerfile)) {
            throw new VmmException("function " + function + " has no Dockerfile, nor has " + catalog.root());
        }
        String baseImage = baseImage();
        String image = FUNCTION_REPOSITORY + function + ":latest";
        progress.step(function + ": buildah bud " + dockerfile + " FROM " + baseImage);
        buildah.buildDockerfile(catalog.root(), dockerfile, image, Map.of("SABRE_BASE", baseImage, "FUNCTION", function));
        return new Built(image, dockerfile);
    }

    /** The base image, named after the Debian base tree (whose name hashes its inputs); imported on first use. */
    private String baseImage() {
        Path baseTree = new RootfsBuilder(cache, progress).base();
        String baseImage = BASE_REPOSITORY + ":" + baseTree.getFileName().toString().replaceFirst("^base-", "");
        if (!buildah.hasImage(baseImage)) {
            progress.step("importing the Debian base " + baseTree + " as " + baseImage);
            try {
                buildah.importRootfs(baseTree, baseImage, List.of("/usr/bin/python3"), cache.dir("image-build"));
            } catch (java.io.IOException e) {
                throw new VmmException("cannot import " + baseTree + " as " + baseImage + ": " + e.getMessage(), e);
            }
        }
        return baseImage;
    }

    /**
     * Pushes {@code image} to {@code destination} (a registry reference with a tag); plain http only for a
     * loopback registry or when {@code insecure}; {@code authFile} may be null (buildah's default).
     */
    public void push(String image, ImageRef destination, boolean insecure, Path authFile) {
        progress.step("pushing " + image + " to " + destination);
        buildah.push(image, destination, insecure, authFile);
    }
}
