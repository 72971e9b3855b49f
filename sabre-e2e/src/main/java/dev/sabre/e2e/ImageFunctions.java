package dev.sabre.e2e;

import dev.sabre.oci.ImageRef;
import dev.sabre.oci.RegistryServer;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.image.FunctionCatalog;
import dev.sabre.vmm.image.FunctionImage;
import dev.sabre.vmm.image.FunctionImageBuilder;
import dev.sabre.vmm.image.FunctionSource;

import java.nio.file.Path;

/**
 * Functions from container images for {@code sabre e2e --images}, the way firecracker-containerd and vHive run
 * them: a private registry (Debian's docker-registry on a free 127.0.0.1 port, storing in the cache so its blobs
 * outlive the run) for the whole run; for each function, its image built with buildah from its Dockerfile, pushed
 * there as {@code sabre/FUNCTION:latest}, and the function {@code FUNCTION-image} defined from that reference and
 * built (pulled back, unpacked, its ext4 made), to be measured like any other function. The definition stays in
 * the cache after the run, but names a registry that stopped with it: restoring {@code FUNCTION-image} later fails
 * in one line naming the image and the registry, until {@code sabre e2e FUNCTION --images} runs again.
 */
public final class ImageFunctions implements AutoCloseable {
    /** What a function built from its image is called: {@code fibonacci-image}, next to {@code fibonacci}. */
    public static final String SUFFIX = "-image";
    public static final String REPOSITORY = "sabre/";

    private final Orchestrator orchestrator;
    private final FunctionImageBuilder builder;
    private final RegistryServer registry;
    private final String suffix;
    private final StepLog progress;

    private ImageFunctions(Orchestrator orchestrator, RegistryServer registry, String suffix, StepLog progress) {
        this.orchestrator = orchestrator;
        this.registry = registry;
        this.suffix = suffix;
        this.progress = progress;
        this.builder = new FunctionImageBuilder(orchestrator.images().cache(), orchestrator.images().catalog(), progress);
    }

    /** Starts the private registry over {@code storage} (kept after the run); functions are named FUNCTION-image. */
    public static ImageFunctions start(Orchestrator orchestrator, Path storage, StepLog progress) {
        return start(orchestrator, storage, SUFFIX, progress);
    }

    /** The same, naming the functions FUNCTION{@code suffix} (tests use their own, leaving a user's alone). */
    public static ImageFunctions start(Orchestrator orchestrator, Path storage, String suffix, StepLog progress) {
        RegistryServer registry = RegistryServer.start(storage, null);
        progress.step("images: " + registry);
        return new ImageFunctions(orchestrator, registry, suffix, progress);
    }

    /** The name {@code function} is measured under when built from its image. */
    public String imageName(String function) {
        return function + suffix;
    }

    /** The private registry, while the run lasts. */
    public RegistryServer registry() {
        return registry;
    }

    /**
     * Builds {@code function}'s image, pushes it to the private registry, defines {@code FUNCTION-image} from it
     * (recorded only once its guest images built) and returns that name.
     */
    public String define(String function) {
        FunctionCatalog catalog = orchestrator.images().catalog();
        FunctionSource source = catalog.get(function);
        if (source.image() != null || !source.dir().startsWith(catalog.root())) {
            throw new VmmException("function " + function + " is itself defined by an image; --images builds the "
                    + "functions of " + catalog.root() + " from their Dockerfiles");
        }
        progress.step(function + ": building its image with buildah");
        FunctionImageBuilder.Built built = builder.build(function);
        ImageRef reference = ImageRef.parse(registry.reference(REPOSITORY + function + ":latest"));
        builder.push(built.image(), reference, false, null);
        String name = imageName(function);
        FunctionImage definition = new FunctionImage(reference.text(), false);
        progress.step(name + ": defined as " + reference + "; pulling it and building its guest images");
        orchestrator.images().define(name, definition);
        return name;
    }

    /** Stops the registry; its storage stays in the cache. */
    @Override
    public void close() {
        registry.close();
    }
}
