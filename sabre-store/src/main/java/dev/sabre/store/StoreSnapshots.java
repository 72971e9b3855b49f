package dev.sabre.store;

import dev.sabre.restore.PageSource;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The hook for restores straight from a store: tells a {@code STORE/NAME} reference from a local file and
 * opens it as a {@link PageSource} through the host cache. A handler given {@code --snapshot STORE/NAME}
 * calls {@link #isStoreReference} on the argument (as a string: {@code s3://} does not survive
 * {@code Path}) and {@link #open} instead of {@code PageSource.open}; for the reap strategies it installs
 * {@link StorePages#prefetchWorkingSet} instead of reading a working-set file.
 */
public final class StoreSnapshots {
    /** Default bound of the host cache: $SABRE_STORE_CACHE_BYTES, else 8 GiB. */
    public static final long DEFAULT_CACHE_BYTES = 8L << 30;

    private StoreSnapshots() {
    }

    /** Whether {@code argument} names a snapshot in a store: {@code s3://...}, or DIR/NAME where DIR holds {@code names/NAME}. */
    public static boolean isStoreReference(String argument) {
        if (argument.startsWith("s3://")) {
            return true;
        }
        Path path = Path.of(argument).toAbsolutePath();
        Path parent = path.getParent();
        return parent != null && !Files.isRegularFile(path)
                && Files.isRegularFile(parent.resolve(StoreLayout.NAMES).resolve(path.getFileName().toString()));
    }

    /** The host cache at its default place and bound ({@link HostCache#defaultDir()}, $SABRE_STORE_CACHE_BYTES). */
    public static HostCache defaultCache() throws IOException {
        return cache(null);
    }

    /** The host cache in {@code dir} (null: {@link HostCache#defaultDir()}), bounded by $SABRE_STORE_CACHE_BYTES. */
    public static HostCache cache(Path dir) throws IOException {
        String bound = System.getenv("SABRE_STORE_CACHE_BYTES");
        return HostCache.open(dir != null ? dir : HostCache.defaultDir(),
                bound != null && !bound.isBlank() ? Long.parseLong(bound.trim()) : DEFAULT_CACHE_BYTES);
    }

    /** Opens {@code STORE/NAME} as a page source through {@code cache}; closing it closes the store connection too. */
    public static StorePages open(String reference, URI endpoint, HostCache cache) throws IOException {
        return open(reference, endpoint, cache, null);
    }

    /**
     * {@link #open(String, URI, HostCache)}, reading the snapshot's disk frames from {@code disk} (the VM's root file
     * system image; null when there is none); closing the source closes the image too.
     */
    public static StorePages open(String reference, URI endpoint, HostCache cache, Path disk) throws IOException {
        SnapshotStore.Ref ref = SnapshotStore.Ref.parse(reference);
        SnapshotStore store = SnapshotStore.open(ref.store(), endpoint);
        SnapshotDisk image = null;
        try {
            image = disk == null ? null : SnapshotDisk.open(disk);
            return StorePages.open(store, ref.name(), cache, image, true);
        } catch (IOException | RuntimeException e) {
            store.close();
            if (image != null) {
                image.close();
            }
            throw e;
        }
    }
}
