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
 * (besides the shared runtime {@code _common}). Users add a function by adding a directory.
 * The directory is {@code $SABRE_FUNCTIONS}, the system property {@code sabre.functions}, or the first
 * {@code functions/} found walking up from the working directory.
 */
public final class FunctionCatalog {
    public static final String COMMON = "_common";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,63}");
    private static final Pattern PACKAGE = Pattern.compile("[a-z0-9][a-z0-9+.-]+");

    private final Path root;

    public FunctionCatalog(Path root) {
        this.root = root.toAbsolutePath().normalize();
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

    /** Names of all functions, sorted. */
    public List<String> names() {
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(d -> Files.isRegularFile(d.resolve("server.py")))
                    .map(d -> d.getFileName().toString())
                    .filter(n -> !n.startsWith("_") && NAME.matcher(n).matches())
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new VmmException("cannot list " + root + ": " + e.getMessage(), e);
        }
    }

    /** The function with this name; an unknown name gives an error listing the known ones. */
    public FunctionSource get(String name) {
        if (name == null || !NAME.matcher(name).matches() || name.startsWith("_")
                || !Files.isRegularFile(root.resolve(name).resolve("server.py"))) {
            throw new VmmException("unknown function '" + name + "': no " + root.resolve(String.valueOf(name))
                    + "/server.py; known functions: " + String.join(", ", names()));
        }
        Path dir = root.resolve(name);
        List<String> packages = readPackages(dir.resolve("packages"));
        Cache.Hasher hasher = new Cache.Hasher().add("function").add(name);
        packages.forEach(hasher::add);
        for (Path file : files(root.resolve(COMMON))) {
            hasher.addFile(root, file);
        }
        for (Path file : files(dir)) {
            hasher.addFile(root, file);
        }
        return new FunctionSource(name, dir, root.resolve(COMMON), packages, hasher.hex());
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
