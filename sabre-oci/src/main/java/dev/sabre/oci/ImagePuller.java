package dev.sabre.oci;

import io.airlift.compress.v3.zstd.ZstdInputStream;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;

/**
 * Pulls an image into a directory: {@code DEST/rootfs/} (its layers applied in order) and
 * {@code DEST/config.json} (the image configuration as the image holds it, digest-checked).
 *
 * <p>The manifest of a registry image is read with {@code skopeo inspect --raw} (one request), an index is
 * resolved to its linux/amd64 manifest here, and only the blobs missing from the {@link BlobStore} are
 * copied by skopeo: a second pull of an unchanged image fetches no blob. Local layouts and archives are
 * copied into the store by skopeo and read from it. Every manifest, config and layer is checked against its
 * digest here as well (the store may have been changed since skopeo checked it), and every layer's
 * uncompressed stream against its {@code diff_id}. The destination is built under a temporary name next to
 * it and renamed into place when complete, so it never holds half an image.
 */
public final class ImagePuller {
    /** How to reach registries, and how much an image may unpack to ({@code maxBytes} of regular files). */
    public record Options(boolean insecureRegistry, Path authFile, Duration timeout, long maxBytes,
                          Consumer<String> progress) {
        public static Options defaults() {
            return new Options(false, null, Duration.ofMinutes(30), Long.MAX_VALUE, message -> { });
        }

        public Options withInsecureRegistry(boolean insecure) {
            return new Options(insecure, authFile, timeout, maxBytes, progress);
        }

        public Options withAuthFile(Path file) {
            return new Options(insecureRegistry, file, timeout, maxBytes, progress);
        }

        public Options withMaxBytes(long limit) {
            return new Options(insecureRegistry, authFile, timeout, limit, progress);
        }

        public Options withProgress(Consumer<String> sink) {
            return new Options(insecureRegistry, authFile, timeout, maxBytes, sink);
        }
    }

    /** What a pull did: blobs fetched into the cache vs found there, and where the time went. */
    public record Stats(int blobsFetched, long bytesFetched, int blobsCached, long bytesCached,
                        long resolveNanos, long fetchNanos, long applyNanos, long bytesApplied,
                        long skippedPrivileged) {
        public long totalNanos() {
            return resolveNanos + fetchNanos + applyNanos;
        }
    }

    /** A pulled image. */
    public record Pulled(ImageRef reference, Digest manifest, ImageConfig config, Path rootfs, Path configFile,
                         Stats stats) {
    }

    private final BlobStore store;
    private final Options options;
    private final Skopeo skopeo;

    public ImagePuller(BlobStore store, Options options) {
        this.store = store;
        this.options = options;
        this.skopeo = new Skopeo(options.authFile(), options.timeout());
    }

    /** The default image cache: {@code $SABRE_CACHE/oci}, else {@code ~/.cache/sabre/oci}. */
    public static BlobStore defaultStore() {
        String env = System.getenv("SABRE_CACHE");
        Path cache = env != null && !env.isBlank() ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".cache", "sabre");
        return new BlobStore(cache.resolve("oci"));
    }

    public BlobStore store() {
        return store;
    }

    /**
     * An image resolved to its linux/amd64 manifest, every blob of it in the store and its config read and
     * checked, not yet unpacked: what a caller needs to decide whether it has already built from this manifest.
     */
    public record Fetched(ImageRef reference, Digest manifestDigest, Manifests.Manifest manifest, ImageConfig config,
                          byte[] configBytes, int blobsFetched, long bytesFetched, long resolveNanos, long fetchNanos) {
    }

    /** Pulls {@code reference} into {@code destination}, which must not exist or be an empty directory. */
    public Pulled pull(String reference, Path destination) throws IOException {
        ImageRef ref = ImageRef.parse(reference);
        Path dest = destination.toAbsolutePath().normalize();
        checkDestination(dest, ref);
        return unpack(fetch(ref), dest);
    }

    /** Resolves {@code reference} and copies the blobs the store lacks into it (one manifest request when none). */
    public Fetched fetch(String reference) {
        return fetch(ImageRef.parse(reference));
    }

    private Fetched fetch(ImageRef ref) {
        long start = System.nanoTime();
        Resolved resolved;
        int fetched;
        long bytesFetched;
        long fetchNanos;
        try (BlobStore.Lock ignored = store.lock()) {
            // A local image is copied into the store while it is resolved: what it lacked then was fetched.
            Set<Digest> before = ref.transport() == ImageRef.Transport.REGISTRY ? null : store.digests();
            resolved = resolve(ref);
            long resolvedAt = System.nanoTime();
            List<Descriptor> missing = missing(resolved.manifest(), before);
            fetched = missing.size();
            bytesFetched = missing.stream().mapToLong(Descriptor::size).sum();
            if (!missing.isEmpty() && before == null) {
                options.progress().accept("fetching " + missing.size() + " blobs (" + bytesFetched + " bytes) of " + ref);
                skopeo.copy(ref.skopeoName(resolved.digest()), tlsVerify(ref), store.skopeoName(cacheTag(resolved.digest())),
                        ref.text());
                for (Descriptor d : missing) {
                    if (!store.has(d.digest())) {
                        throw new OciException("image " + ref + ": blob " + d.digest().shortForm()
                                + " is still missing after skopeo copied the image");
                    }
                }
            }
            fetchNanos = System.nanoTime() - resolvedAt;
            resolved = new Resolved(resolved.digest(), resolved.manifest(), System.nanoTime() - start - fetchNanos);
        }
        Manifests.Manifest manifest = resolved.manifest();
        byte[] configBytes = store.read(manifest.config().digest(), manifest.config().size(),
                "image " + ref + ": config " + manifest.config().digest().shortForm());
        ImageConfig config = ImageConfig.parse(configBytes, manifest.config().digest(), ref.text());
        if (config.diffIds().size() != manifest.layers().size()) {
            throw new OciException("image " + ref + ": config " + manifest.config().digest().shortForm() + " lists "
                    + config.diffIds().size() + " rootfs.diff_ids for " + manifest.layers().size() + " layers");
        }
        return new Fetched(ref, resolved.digest(), manifest, config, configBytes, fetched, bytesFetched,
                resolved.nanos(), fetchNanos);
    }

    /**
     * Unpacks a fetched image into {@code destination} ({@code rootfs/} and {@code config.json}), which must not
     * exist or be an empty directory; built under a temporary name and renamed into place when complete.
     */
    public Pulled unpack(Fetched image, Path destination) throws IOException {
        ImageRef ref = image.reference();
        Path dest = destination.toAbsolutePath().normalize();
        checkDestination(dest, ref);
        Manifests.Manifest manifest = image.manifest();
        ImageConfig config = image.config();
        long applyStart = System.nanoTime();
        Path tmp = dest.resolveSibling("." + dest.getFileName() + ".tmp-" + UUID.randomUUID());
        LayerApplier.Totals totals;
        try {
            Path rootfs = Files.createDirectories(tmp.resolve("rootfs"));
            LayerApplier applier = new LayerApplier(rootfs, LayerApplier.runningAsRoot(), options.maxBytes());
            for (int i = 0; i < manifest.layers().size(); i++) {
                Descriptor layer = manifest.layers().get(i);
                options.progress().accept("applying layer " + (i + 1) + "/" + manifest.layers().size() + " "
                        + layer.digest().shortForm() + " (" + layer.size() + " bytes)");
                applyLayer(applier, layer, config.diffIds().get(i), "image " + ref + ": layer " + layer.digest().shortForm());
            }
            totals = applier.totals();
            writeSynced(tmp.resolve("config.json"), image.configBytes());
            if (Files.isDirectory(dest)) {
                Files.delete(dest); // checked empty above
            }
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            LayerApplier.deleteTree(tmp, "image " + ref);
            throw e;
        }
        Stats stats = new Stats(image.blobsFetched(), image.bytesFetched(), manifest.layers().size() + 1 - image.blobsFetched(),
                blobBytes(manifest) - image.bytesFetched(), image.resolveNanos(), image.fetchNanos(),
                System.nanoTime() - applyStart, totals.bytesWritten(), totals.skippedPrivileged());
        return new Pulled(ref, image.manifestDigest(), config, dest.resolve("rootfs"), dest.resolve("config.json"), stats);
    }

    private record Resolved(Digest digest, Manifests.Manifest manifest, long nanos) {
    }

    /** The image's linux/amd64 manifest, its bytes checked against its digest. */
    private Resolved resolve(ImageRef ref) {
        long start = System.nanoTime();
        if (ref.transport() == ImageRef.Transport.REGISTRY) {
            byte[] raw = skopeo.inspectRaw(ref.skopeoName(), tlsVerify(ref), ref.text());
            Digest digest = Digest.of(raw);
            if (ref.digest() != null && !ref.digest().equals(digest)) {
                throw new OciException("image " + ref + ": the registry's manifest has digest " + digest.shortForm());
            }
            Manifests.Parsed parsed = Manifests.parse(raw, digest, ref.text());
            if (parsed instanceof Manifests.Index index) {
                Descriptor chosen = index.linuxAmd64(ref.text(), digest);
                raw = skopeo.inspectRaw(ref.skopeoName(chosen.digest()), tlsVerify(ref), ref.text());
                digest = Digest.of(raw);
                if (!digest.equals(chosen.digest())) {
                    throw new OciException("image " + ref + ": manifest " + chosen.digest().shortForm()
                            + ": digest mismatch, content is " + digest.shortForm());
                }
                parsed = Manifests.parse(raw, digest, ref.text());
            }
            return new Resolved(digest, asManifest(parsed, digest, ref), System.nanoTime() - start);
        }
        // A layout or archive: skopeo picks linux/amd64 and copies it into the store (blobs present are kept).
        String tag = "local-" + Digest.of(ref.skopeoName().getBytes(java.nio.charset.StandardCharsets.UTF_8)).hex()
                .substring(0, 16);
        skopeo.copy(ref.skopeoName(), true, store.skopeoName(tag), ref.text());
        Descriptor descriptor = store.tagged(tag, ref.text());
        String what = "image " + ref + ": manifest " + descriptor.digest().shortForm();
        byte[] raw = store.read(descriptor.digest(), descriptor.size(), what);
        Manifests.Parsed parsed = Manifests.parse(raw, descriptor.digest(), ref.text());
        return new Resolved(descriptor.digest(), asManifest(parsed, descriptor.digest(), ref), System.nanoTime() - start);
    }

    private static Manifests.Manifest asManifest(Manifests.Parsed parsed, Digest digest, ImageRef ref) {
        if (parsed instanceof Manifests.Manifest manifest) {
            return manifest;
        }
        throw new OciException("image " + ref + ": manifest " + digest.shortForm() + " is an index inside an index");
    }

    /** The image's blobs the store lacks now, or lacked in {@code before} when that is given. */
    private List<Descriptor> missing(Manifests.Manifest manifest, Set<Digest> before) {
        Map<Digest, Descriptor> missing = new LinkedHashMap<>();
        List<Descriptor> all = new ArrayList<>(manifest.layers());
        all.add(manifest.config());
        for (Descriptor d : all) {
            if (before != null ? !before.contains(d.digest()) : !store.has(d.digest())) {
                missing.putIfAbsent(d.digest(), d);
            }
        }
        return List.copyOf(missing.values());
    }

    private static long blobBytes(Manifests.Manifest manifest) {
        return manifest.config().size() + manifest.layers().stream().mapToLong(Descriptor::size).sum();
    }

    private boolean tlsVerify(ImageRef ref) {
        return !(ref.loopbackRegistry() || options.insecureRegistry());
    }

    /** The store's tag for a registry manifest skopeo copied (one per manifest, replaced on a new copy). */
    private static String cacheTag(Digest manifest) {
        return "pulled-" + manifest.hex().substring(0, 16);
    }

    /** Streams one layer from the store through its digest check, decompression and diff_id check. */
    private void applyLayer(LayerApplier applier, Descriptor layer, Digest diffId, String where) throws IOException {
        try (InputStream file = store.open(layer.digest(), where)) {
            Digest.Hashing compressed = new Digest.Hashing(file);
            Digest.Hashing tar = new Digest.Hashing(decompressed(new BufferedInputStream(compressed, 1 << 16), where));
            OciException applyError = null;
            try {
                applier.apply(tar, where);
                tar.drain();
            } catch (OciException e) {
                applyError = e;
            } catch (IOException e) {
                applyError = new OciException(where + ": " + Manifests.oneLine(e.getMessage()), e);
            }
            // A digest mismatch explains any error the bad content caused, so it is checked first.
            compressed.drain();
            Digest actual = compressed.digest();
            if (!actual.equals(layer.digest()) || compressed.count() != layer.size()) {
                store.discard(layer.digest());
                throw new OciException(where + ": digest mismatch, content is " + actual.shortForm() + " ("
                        + compressed.count() + " bytes, descriptor says " + layer.size() + ")");
            }
            if (applyError != null) {
                throw applyError;
            }
            if (!tar.digest().equals(diffId)) {
                throw new OciException(where + ": uncompressed content is " + tar.digest().shortForm()
                        + ", config's rootfs.diff_ids says " + diffId.shortForm());
            }
        }
    }

    /** The tar stream of a layer: gzip and zstd are recognised by their magic numbers, anything else is tar. */
    private static InputStream decompressed(InputStream in, String where) throws IOException {
        in.mark(4);
        byte[] magic = in.readNBytes(4);
        in.reset();
        try {
            if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
                return new GZIPInputStream(in, 1 << 16);
            }
            if (magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                    && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd) {
                return new ZstdInputStream(in);
            }
            return in;
        } catch (IOException e) {
            throw new OciException(where + ": bad compressed stream: " + Manifests.oneLine(e.getMessage()), e);
        }
    }

    private static void checkDestination(Path dest, ImageRef ref) throws IOException {
        if (Files.isDirectory(dest)) {
            try (var entries = Files.list(dest)) {
                if (entries.findAny().isPresent()) {
                    throw new OciException("image " + ref + ": destination " + dest + " is not empty");
                }
            }
        } else if (Files.exists(dest, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new OciException("image " + ref + ": destination " + dest + " exists and is not a directory");
        }
        Files.createDirectories(dest.getParent());
    }

    private static void writeSynced(Path file, byte[] bytes) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.wrap(bytes));
            channel.force(true);
        }
    }
}
