package dev.sabre.vmm.image;

import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The functions a user can run: every directory of {@code functions/} that holds a {@code server.py}
 * (besides the shared runtime {@code _common}) or an {@code image} file naming the container image the
 * function runs, and every function defined from an image with {@code sabre vm build NAME --image REF}, which
 * is recorded in the cache ({@code $SABRE_CACHE/functions/NAME/image}, the same file). Users add a function by
 * adding a directory. The directory is {@code $SABRE_FUNCTIONS}, the system property {@code sabre.functions},
 * or the first {@code functions/} found walking up from the working directory.
 */
public final class FunctionCatalog {
    public static final String COMMON = "_common";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,63}");
    private static final Pattern PACKAGE = Pattern.compile("[a-z0-9][a-z0-9+.-]+");

    private final Path root;
    private final Path imageFunctions;

    /** The functions of {@code root}, and those defined from images in the default cache. */
    public FunctionCatalog(Path root) {
        this(root, Cache.defaultCache().root().resolve("functions"));
    }

    /** The functions of {@code root}, and those defined from images recorded under {@code imageFunctions}. */
    public FunctionCatalog(Path root, Path imageFunctions) {
        this.root = root.toAbsolutePath().normalize();
        this.imageFunctions = imageFunctions.toAbsolutePath().normalize();
        if (!Files.isDirectory(this.root.resolve(COMMON))) {
            throw new VmmException("not a functions directory (no " + COMMON + "/ in it): " + this.root);
        }
    }

    /** The catalog found through the environment or by walking up from the working directory. */
    public static FunctionCatalog locate() {
        String explicit = System.getenv("SABRE_FUNCTIONS");
        if (explicit == null || explicit.isBlank()) {
            explicit = System.getProperty("sabre.functions");
        }
        if (explicit != null && !explicit.isBlank()) {
            return new FunctionCatalog(Path.of(explicit));
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("functions").resolve(COMMON))) {
                return new FunctionCatalog(dir.resolve("functions"));
            }
        }
        throw new VmmException("cannot find the functions/ directory from " + Path.of("").toAbsolutePath()
                + "; set SABRE_FUNCTIONS to it");
    }

    public Path root() {
        return root;
    }

    /** Where {@code sabre vm build NAME --image REF} records the functions it defines. */
    public Path imageFunctions() {
        return imageFunctions;
    }

    /** Names of all functions, sorted: the directories first, then the image functions of the cache. */
    public List<String> names() {
        List<String> names = new ArrayList<>(list(root, d -> Files.isRegularFile(d.resolve("server.py"))
                || Files.isRegularFile(d.resolve(FunctionImage.FILE))));
        if (Files.isDirectory(imageFunctions)) {
            list(imageFunctions, d -> Files.isRegularFile(d.resolve(FunctionImage.FILE))).stream()
                    .filter(n -> !names.contains(n)).forEach(names::add);
        }
        return List.copyOf(names);
    }

    private static List<String> list(Path dir, java.util.function.Predicate<Path> isFunction) {
        try (Stream<Path> dirs = Files.list(dir)) {
            return dirs.filter(isFunction)
                    .map(d -> d.getFileName().toString())
                    .filter(n -> !n.startsWith("_") && NAME.matcher(n).matches())
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new VmmException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The function with this name: a directory of {@code functions/} (its {@code image} file, if any, makes it
     * an image function), else an image function recorded in the cache; an unknown name gives an error listing
     * the known ones.
     */
    public FunctionSource get(String name) {
        boolean valid = name != null && NAME.matcher(name).matches() && !name.startsWith("_");
        Path dir = valid ? root.resolve(name) : null;
        if (valid && !Files.isDirectory(dir) && Files.isRegularFile(imageFunctions.resolve(name).resolve(FunctionImage.FILE))) {
            dir = imageFunctions.resolve(name);
        }
        if (dir != null && Files.isRegularFile(dir.resolve(FunctionImage.FILE))) {
            Path file = dir.resolve(FunctionImage.FILE);
            FunctionImage image = FunctionImage.read(file);
            String hash = new Cache.Hasher().add("image-function").add(name).add(image.text()).hex();
            return new FunctionSource(name, dir, root.resolve(COMMON), List.of(), hash, image);
        }
        if (dir == null || !Files.isRegularFile(dir.resolve("server.py"))) {
            throw new VmmException("unknown function '" + name + "': no " + root.resolve(String.valueOf(name))
                    + "/server.py nor " + FunctionImage.FILE + " file, and no image defined with 'sabre vm build "
                    + name + " --image REF'; known functions: " + String.join(", ", names()));
        }
        List<String> packages = readPackages(dir.resolve("packages"));
        Cache.Hasher hasher = new Cache.Hasher().add("function").add(name);
        packages.forEach(hasher::add);
        for (Path file : files(root.resolve(COMMON))) {
            hasher.addFile(root, file);
        }
        for (Path file : files(dir)) {
            hasher.addFile(root, file);
        }
        return new FunctionSource(name, dir, root.resolve(COMMON), packages, hasher.hex(), null);
    }

    /**
     * The function {@code name} as the container image {@code image}, checked but not recorded yet (build it
     * first, then {@link #define}). A directory of {@code functions/} of that name wins, so it is refused unless
     * its own {@code image} file names the same image.
     */
    public FunctionSource imageFunction(String name, FunctionImage image) {
        if (name == null || !NAME.matcher(name).matches() || name.startsWith("_")) {
            throw new VmmException("function name '" + name + "' must be 1-64 of a-z 0-9 _ . - and not start with _");
        }
        Path dir = root.resolve(name);
        if (Files.isDirectory(dir)) {
            FunctionSource existing = get(name);
            if (existing.image() != null && existing.image().equals(image)) {
                return existing;
            }
            throw new VmmException("function " + name + " is defined by " + dir + "; to run it from an image, name the "
                    + "image in " + dir.resolve(FunctionImage.FILE) + ", or pick another name");
        }
        String hash = new Cache.Hasher().add("image-function").add(name).add(image.text()).hex();
        return new FunctionSource(name, imageFunctions.resolve(name), root.resolve(COMMON), List.of(), hash, image);
    }

    /**
     * Records the function {@code name} as the container image {@code image} in the cache (replacing an earlier
     * definition), unless a directory of {@code functions/} defines it. Written to a temporary name, synced and
     * renamed.
     */
    public FunctionSource define(String name, FunctionImage image) {
        FunctionSource checked = imageFunction(name, image);
        if (Files.isDirectory(root.resolve(name))) {
            return checked; // the directory's own image file already names this image
        }
        Path record = imageFunctions.resolve(name);
        Path file = record.resolve(FunctionImage.FILE);
        Path tmp = record.resolve(FunctionImage.FILE + ".tmp" + ProcessHandle.current().pid());
        try {
            Files.createDirectories(record);
            try (var channel = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.TRUNCATE_EXISTING, java.nio.file.StandardOpenOption.WRITE)) {
                channel.write(java.nio.ByteBuffer.wrap(image.text().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
                channel.force(true);
            }
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new VmmException("cannot record function " + name + " in " + file + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // only a leftover temporary file
            }
        }
        return get(name);
    }

    private static List<String> readPackages(Path file) {
        if (!Files.exists(file)) {
            return List.of();
        }
        List<String> packages = new ArrayList<>();
        try {
            int lineNo = 0;
            for (String line : Files.readAllLines(file)) {
                lineNo++;
                String p = line.replaceFirst("#.*", "").strip();
                if (p.isEmpty()) {
                    continue;
                }
                if (!PACKAGE.matcher(p).matches()) {
                    throw new VmmException(file + " line " + lineNo + ": '" + p + "' is not a Debian package name");
                }
                packages.add(p);
            }
        } catch (IOException e) {
            throw new VmmException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return List.copyOf(packages);
    }

    /** Regular files under a directory, sorted, skipping caches. */
    static List<Path> files(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile)
                    .filter(p -> !p.toString().contains("__pycache__") && !p.toString().endsWith(".pyc"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new VmmException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }
}
