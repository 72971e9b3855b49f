package dev.sabre.vmm.image;

import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The cache directory for everything the testbed builds or downloads (kernels, initramfs, root file
 * systems, the preload library), kept outside the repository: {@code $SABRE_CACHE}, else
 * {@code ~/.cache/sabre}. Entries are named by a content hash of their inputs, so a changed input
 * yields a new entry and an unchanged one is reused.
 */
public final class Cache {
    private final Path root;

    public Cache(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    /** The default cache: {@code $SABRE_CACHE}, else {@code ~/.cache/sabre}. */
    public static Cache defaultCache() {
        String env = System.getenv("SABRE_CACHE");
        if (env != null && !env.isBlank()) {
            return new Cache(Path.of(env));
        }
        return new Cache(Path.of(System.getProperty("user.home"), ".cache", "sabre"));
    }

    public Path root() {
        return root;
    }

    /** A sub-directory of the cache, created when missing. */
    public Path dir(String name) {
        Path dir = root.resolve(name);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new VmmException("cannot create cache directory " + dir + ": " + e.getMessage(), e);
        }
        return dir;
    }

    /** An incremental SHA-256 over strings and files; {@link #hex()} gives a short name for an entry. */
    public static final class Hasher {
        private final MessageDigest digest;

        public Hasher() {
            try {
                digest = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        public Hasher add(String text) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            addLength(bytes.length);
            digest.update(bytes);
            return this;
        }

        public Hasher add(byte[] bytes) {
            addLength(bytes.length);
            digest.update(bytes);
            return this;
        }

        /** Adds a file's name relative to {@code base} and its content. */
        public Hasher addFile(Path base, Path file) {
            add(base.relativize(file).toString());
            try {
                return add(Files.readAllBytes(file));
            } catch (IOException e) {
                throw new VmmException("cannot read " + file + ": " + e.getMessage(), e);
            }
        }

        private void addLength(int n) {
            digest.update(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
        }

        /** The first 16 hex digits of the digest. */
        public String hex() {
            return HexFormat.of().formatHex(digest.digest()).substring(0, 16);
        }
    }

    /** Deletes a file tree if it exists (does not follow symbolic links); as {@link WorkDir#deleteTree}. */
    public static void deleteTree(Path dir) {
        WorkDir.deleteTree(dir);
    }

    /**
     * Moves a finished temporary file or directory to its final name atomically. If another process
     * published the same entry meanwhile, its copy wins and ours is dropped (entries are content-named).
     */
    static void publish(Path tmp, Path target) {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (Files.exists(target)) {
                deleteTree(tmp);
                return;
            }
            throw new VmmException("cannot move " + tmp + " to " + target + ": " + e.getMessage(), e);
        }
    }
}
