package dev.sabre.oci;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The image cache: one OCI image layout directory whose {@code blobs/sha256/} holds every manifest, config
 * and layer ever pulled, by digest, shared by all images (a layer two images share is stored once). skopeo
 * writes into it (each blob to a temporary name, then renamed); this class reads from it and checks every
 * blob against its digest before use, discarding one that fails so the next pull fetches it again.
 */
public final class BlobStore {
    private final Path layout;

    public BlobStore(Path layout) {
        this.layout = layout.toAbsolutePath().normalize();
        if (this.layout.toString().contains(":")) {
            // skopeo's oci: transport splits at the first colon.
            throw new OciException("image cache " + this.layout + ": the path must not contain ':'");
        }
        try {
            Files.createDirectories(this.layout.resolve("blobs").resolve("sha256"));
        } catch (IOException e) {
            throw new OciException("image cache " + this.layout + ": cannot create: " + e.getMessage(), e);
        }
    }

    public Path layout() {
        return layout;
    }

    /** skopeo's name for an image under {@code tag} in this layout. */
    String skopeoName(String tag) {
        return "oci:" + layout + ":" + tag;
    }

    public Path path(Digest digest) {
        return layout.resolve("blobs").resolve("sha256").resolve(digest.hex());
    }

    public boolean has(Digest digest) {
        return Files.isRegularFile(path(digest));
    }

    /** The digests of every blob in the store. */
    Set<Digest> digests() {
        try (Stream<Path> files = Files.list(layout.resolve("blobs").resolve("sha256"))) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.matches("[0-9a-f]{64}"))
                    .map(Digest::new).collect(Collectors.toSet());
        } catch (IOException e) {
            throw new OciException("image cache " + layout + ": cannot list blobs: " + e.getMessage(), e);
        }
    }

    /** Reads a small blob (manifest, config), checking its size against {@code expectedSize} (or -1) and its digest. */
    byte[] read(Digest digest, long expectedSize, String what) {
        Path file = path(digest);
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > Manifests.MAX_MANIFEST_BYTES) {
                throw new OciException(what + " is " + size + " bytes, more than the "
                        + Manifests.MAX_MANIFEST_BYTES + " allowed");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new OciException(what + " is not in the image cache " + layout);
        } catch (IOException e) {
            throw new OciException(what + ": cannot read " + file + ": " + e.getMessage(), e);
        }
        if (expectedSize >= 0 && bytes.length != expectedSize) {
            discard(digest);
            throw new OciException(what + " is " + bytes.length + " bytes, its descriptor says " + expectedSize);
        }
        Digest actual = Digest.of(bytes);
        if (!actual.equals(digest)) {
            discard(digest);
            throw new OciException(what + ": digest mismatch, content is " + actual.shortForm());
        }
        return bytes;
    }

    /** Opens a blob for streaming; the caller checks the digest as it reads ({@link Digest.Hashing}). */
    InputStream open(Digest digest, String what) {
        try {
            return Files.newInputStream(path(digest));
        } catch (NoSuchFileException e) {
            throw new OciException(what + " is not in the image cache " + layout);
        } catch (IOException e) {
            throw new OciException(what + ": cannot read " + path(digest) + ": " + e.getMessage(), e);
        }
    }

    /** Removes a blob that failed its check; a later pull fetches it again. */
    void discard(Digest digest) {
        try {
            Files.deleteIfExists(path(digest));
        } catch (IOException e) {
            // The caller reports the mismatch; a blob that cannot be removed fails its check again next time.
        }
    }

    /** The manifest descriptor skopeo recorded under {@code tag} in {@code index.json}. */
    Descriptor tagged(String tag, String image) {
        Path index = layout.resolve("index.json");
        String where = "image " + image + ": image cache " + index;
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(index);
        } catch (IOException e) {
            throw new OciException(where + ": cannot read: " + e.getMessage(), e);
        }
        JsonObject json = Manifests.object(bytes, where);
        for (JsonElement e : Manifests.array(json, "manifests", where)) {
            if (e instanceof JsonObject entry && entry.get("annotations") instanceof JsonObject annotations
                    && annotations.get("org.opencontainers.image.ref.name") instanceof JsonElement name
                    && tag.equals(name.getAsString())) {
                return Manifests.descriptor(entry, where + ": " + tag);
            }
        }
        throw new OciException(where + ": no manifest tagged " + tag);
    }

    /** Takes the cache's lock (across processes) for as long as the returned lock is open. */
    public Lock lock() {
        Path file = layout.resolve(".sabre-lock");
        try {
            FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                return new Lock(channel, channel.lock());
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        } catch (IOException e) {
            throw new OciException("image cache " + layout + ": cannot lock " + file + ": " + e.getMessage(), e);
        }
    }

    /** The held cache lock. */
    public record Lock(FileChannel channel, FileLock lock) implements AutoCloseable {
        @Override
        public void close() {
            try {
                channel.close(); // releases the lock
            } catch (IOException e) {
                // nothing was written through it
            }
        }
    }
}
