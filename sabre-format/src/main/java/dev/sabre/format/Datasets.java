package dev.sabre.format;

import io.airlift.compress.v3.zstd.ZstdInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Finds the shared real guest-memory snapshots ({@code NAME.mem.zst}) and unpacks them once into the
 * cache, outside the repository, for tests, benchmarks and the demonstration.
 */
public final class Datasets {
    private Datasets() {
    }

    /** The cache root: $SABRE_CACHE, else ~/.cache/sabre. */
    public static Path cacheDir() {
        String env = System.getenv("SABRE_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "sabre");
    }

    /**
     * The shared datasets directory: -Dsabre.datasets, $SABRE_DATASETS, else the first
     * {@code shared/datasets} found beside the working directory or one of its parents.
     */
    public static Path directory() throws IOException {
        for (String configured : new String[] {System.getProperty("sabre.datasets"), System.getenv("SABRE_DATASETS")}) {
            if (configured != null && !configured.isBlank() && Files.isDirectory(Path.of(configured))) {
                return Path.of(configured).toAbsolutePath().normalize();
            }
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared").resolve("datasets");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        throw new IOException("the shared real guest memory (shared/datasets/*.mem.zst) was not found in %s or any parent; this needs it: set SABRE_DATASETS or -Dsabre.datasets to its directory"
                .formatted(Path.of("").toAbsolutePath()));
    }

    /** Names of the available datasets (file names without .mem.zst). */
    public static List<String> names() throws IOException {
        List<String> names = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory())) {
            files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".mem.zst")).sorted()
                    .forEach(n -> names.add(n.substring(0, n.length() - ".mem.zst".length())));
        }
        return names;
    }

    /**
     * Dataset {@code name} packed with {@code options} into {@code dir}, once: a readable pack left there by
     * an earlier run is reused, anything else (missing, or unreadable after a format change) is packed again.
     * The file name says the codec, level, policy and frame bound, and ends with a hash of every option
     * (literals, dedup, page and prefetch lists included), so two option sets never share one file.
     */
    public static synchronized Path packed(String name, PackOptions options, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path out = dir.resolve("%s-%s-%d-%s-%d-%08x.sabre".formatted(name, options.codec().label(), options.level(),
                options.policy().label(), options.framePages(), optionsKey(options)));
        if (!isReadableSnapshot(out)) {
            try (MemoryImage image = MemoryImage.open(memoryFile(name), 4096, null)) {
                Packer.pack(image, out, options, null);
            }
        }
        return out;
    }

    /** A hash of everything but the thread count, which does not change the file's contents. */
    private static int optionsKey(PackOptions options) {
        return options.withThreads(1).toString().hashCode();
    }

    private static boolean isReadableSnapshot(Path snapshot) {
        if (!Files.exists(snapshot)) {
            return false;
        }
        try (SnapshotReader ignored = SnapshotReader.open(snapshot)) {
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The raw memory file of dataset {@code name}, unpacked into the cache on first use (to a
     * temporary name, then renamed, so an interrupted unpack is never mistaken for a complete one).
     */
    public static Path memoryFile(String name) throws IOException {
        Path source = directory().resolve(name + ".mem.zst");
        if (!Files.isRegularFile(source)) {
            throw new IOException("dataset '" + name + "' not found: no " + source);
        }
        Path target = cacheDir().resolve("datasets").resolve(name + ".mem");
        if (Files.isRegularFile(target) && Files.getLastModifiedTime(target).compareTo(Files.getLastModifiedTime(source)) >= 0) {
            return target;
        }
        Files.createDirectories(target.getParent());
        Path temp = Files.createTempFile(target.getParent(), name, ".tmp");
        try (InputStream in = new ZstdInputStream(Files.newInputStream(source));
             OutputStream out = Files.newOutputStream(temp)) {
            in.transferTo(out);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw new IOException("cannot unpack " + source + ": " + e.getMessage(), e);
        }
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }
}
