package dev.sabre.vmm.image;

import dev.sabre.vmm.GuestImage;
import dev.sabre.vmm.StepLog;

/**
 * Builds (or finds in the cache) the guest images of a function: the Debian kernel, the initramfs and
 * the function's root file system, from Debian packages or from the function's container image. The entry
 * point for {@code sabre vm build FUNCTION}.
 */
public final class ImageBuilder {
    private final Cache cache;
    private final FunctionCatalog catalog;
    private final StepLog progress;

    public ImageBuilder(Cache cache, FunctionCatalog catalog, StepLog progress) {
        this.cache = cache;
        this.catalog = catalog;
        this.progress = progress;
    }

    /** A builder on the default cache and the functions directory found from the working directory. */
    public static ImageBuilder standard(StepLog progress) {
        return new ImageBuilder(Cache.defaultCache(), FunctionCatalog.locate(), progress);
    }

    public FunctionCatalog catalog() {
        return catalog;
    }

    public Cache cache() {
        return cache;
    }

    /** The images of the named function; unknown names and missing host tools fail first, with a clear message. */
    public GuestImage build(String function) {
        return build(catalog.get(function));
    }

    /** The images of a function definition (one not recorded in the catalog yet, too). */
    public GuestImage build(FunctionSource source) {
        String function = source.name();
        HostTools.requireImageTools();
        KernelImage kernel = new KernelBuilder(cache, progress).build();
        var initramfs = new InitramfsBuilder(cache, progress).build(kernel);
        var rootfs = source.image() != null ? new ImageRootfsBuilder(cache, progress).build(source).image()
                : new RootfsBuilder(cache, progress).build(source);
        String id = new Cache.Hasher().add(kernel.vmlinux().toString()).add(initramfs.getFileName().toString())
                .add(rootfs.getFileName().toString()).hex();
        return new GuestImage(function, kernel.vmlinux(), initramfs, rootfs, id);
    }

    /**
     * Defines the function {@code name} as the container image {@code definition} and builds its images; the
     * definition is recorded in the catalog only once they built, so a reference that does not pull defines nothing.
     */
    public GuestImage define(String name, FunctionImage definition) {
        GuestImage built = build(catalog.imageFunction(name, definition));
        catalog.define(name, definition);
        return built;
    }
}
