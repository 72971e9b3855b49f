package dev.sabre.vmm.image;

import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Small C programs shipped as class-path sources and compiled with the host's gcc into the cache on first
 * use, named by a hash of their source and flags, so a changed source is rebuilt and an unchanged one never is.
 */
public final class NativeBuild {
    private NativeBuild() {
    }

    /** The class-path resource's bytes. */
    public static byte[] source(Class<?> owner, String resource) {
        try (InputStream in = owner.getResourceAsStream(resource)) {
            if (in == null) {
                throw new VmmException("missing class-path resource " + resource);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new VmmException("cannot read " + resource + ": " + e.getMessage(), e);
        }
    }

    /**
     * Compiles C {@code source} with {@code flags} into {@code cache/dir/NAME-HASH.SUFFIX} (built when missing,
     * under a temporary name, then renamed) and returns it. {@code name} names the program in messages.
     */
    public static synchronized Path compile(Cache cache, String dir, String name, String suffix, byte[] source,
                                            List<String> flags, StepLog progress) {
        Path out = cache.dir(dir);
        Path built = out.resolve(name + "-" + new Cache.Hasher().add(source).add(String.join(" ", flags)).hex() + suffix);
        if (Files.isRegularFile(built)) {
            return built;
        }
        if (!Files.isExecutable(Path.of("/usr/bin/gcc"))) {
            throw new VmmException(name + " is compiled with gcc; install it with: apt-get install -y gcc libc6-dev");
        }
        progress.step("compiling " + name);
        long pid = ProcessHandle.current().pid();
        Path src = out.resolve(name + ".c.tmp" + pid);
        Path tmp = out.resolve(built.getFileName() + ".tmp" + pid);
        try {
            Files.write(src, source);
            List<String> command = new ArrayList<>(List.of("gcc", "-x", "c", "-std=gnu11", "-O2", "-Wall", "-Werror"));
            command.addAll(flags);
            command.addAll(List.of("-o", tmp.toString(), src.toString()));
            Commands.run(command, out.resolve("build.log"), Duration.ofMinutes(2), progress, "gcc " + name + ".c");
            Files.move(tmp, built, StandardCopyOption.ATOMIC_MOVE);
            return built;
        } catch (IOException e) {
            throw new VmmException("cannot build " + name + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(src);
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
