package dev.sabre.vmm.image;

import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Builds one read-only ext4 root file system per function: a cached Debian bookworm minbase with
 * python3 and gRPC (debootstrap), plus the function's Debian packages (apt-get in a chroot), the
 * shared runtime and the function's code under {@code /sabre/function}, then {@code mkfs.ext4 -d}.
 * The image name carries a hash of all inputs, so an unchanged function is never rebuilt.
 */
public final class RootfsBuilder {
    static final String SUITE = "bookworm";
    static final List<String> BASE_PACKAGES = List.of("python3", "python3-grpcio", "python3-protobuf");
    private static final String INIT_RESOURCE = "/dev/sabre/vmm/image/rootfs-init.sh";

    private final Cache cache;
    private final StepLog progress;
    private final String mirror;

    public RootfsBuilder(Cache cache, StepLog progress) {
        this.cache = cache;
        this.progress = progress;
        String env = System.getenv("SABRE_DEBIAN_MIRROR");
        this.mirror = env == null || env.isBlank() ? "http://deb.debian.org/debian" : env.strip();
    }

    /** The cached root file system image of the function, built when any input changed. */
    public Path build(FunctionSource function) {
        Path base = base();
        byte[] init = InitramfsBuilder.resource(INIT_RESOURCE);
        byte[] busybox = busybox();
        String key = new Cache.Hasher().add("rootfs-v1").add(base.getFileName().toString()).add(function.hash())
                .add(init).add(busybox).hex();
        Path dir = cache.dir("rootfs");
        Path image = dir.resolve(function.name() + "-" + key + ".ext4");
        if (Files.isRegularFile(image)) {
            return image;
        }
        long started = System.nanoTime();
        progress.step("building root file system of " + function.name()
                + (function.packages().isEmpty() ? "" : " with " + String.join(" ", function.packages())));
        Path log = cache.dir("logs").resolve("rootfs-" + function.name() + ".log");
        Path tree = dir.resolve(function.name() + ".build" + ProcessHandle.current().pid());
        Path tmpImage = dir.resolve(image.getFileName() + ".tmp" + ProcessHandle.current().pid());
        try {
            Files.deleteIfExists(log);
            Cache.deleteTree(tree);
            Commands.run(List.of("cp", "-a", base.toString(), tree.toString()), log, Duration.ofMinutes(5),
                    progress, "copying the base root file system");
            if (!function.packages().isEmpty()) {
                Files.copy(Path.of("/etc/resolv.conf"), tree.resolve("etc/resolv.conf"),
                        StandardCopyOption.REPLACE_EXISTING, LinkOption.NOFOLLOW_LINKS);
                chroot(tree, log, "apt-get update", List.of("apt-get", "update", "-q"));
                List<String> install = new ArrayList<>(List.of("env", "DEBIAN_FRONTEND=noninteractive",
                        "apt-get", "install", "-y", "-q", "--no-install-recommends"));
                install.addAll(function.packages());
                chroot(tree, log, "apt-get install " + String.join(" ", function.packages()), install);
                chroot(tree, log, "apt-get clean", List.of("apt-get", "clean"));
            }
            installFunction(function, tree, init, busybox);
            chroot(tree, log, "compiling the function's Python code",
                    List.of("python3", "-m", "compileall", "-q", "/sabre/function"));
            trim(tree);
            Ext4Image.make(tree, tmpImage, log);
            Cache.publish(tmpImage, image);
            Ext4Image.deleteStale(dir, function.name(), image);
        } catch (IOException e) {
            throw new VmmException("building the root file system of " + function.name() + " failed: "
                    + e.getMessage() + " (log " + log + ")", e);
        } catch (VmmException e) {
            throw new VmmException("building the root file system of function " + function.name() + " failed: "
                    + e.getMessage(), e);
        } finally {
            Cache.deleteTree(tree);
            try {
                Files.deleteIfExists(tmpImage);
            } catch (IOException ignored) {
                // best effort
            }
        }
        progress.step(String.format("root file system of %s ready (%.1f MiB, %d s)", function.name(),
                Ext4Image.size(image) / 1048576.0, (System.nanoTime() - started) / 1_000_000_000L));
        return image;
    }

    /** The host's static busybox, which every function's root file system carries as /sabre/busybox. */
    static byte[] busybox() {
        try {
            return Files.readAllBytes(Path.of("/bin/busybox"));
        } catch (IOException e) {
            throw new VmmException("cannot read /bin/busybox: " + e.getMessage(), e);
        }
    }

    /** The cached debootstrap base (minbase + python3 + gRPC), created on first use. */
    public Path base() {
        String key = new Cache.Hasher().add("base-v1").add(SUITE).add(mirror).add(String.join(",", BASE_PACKAGES)).hex();
        Path dir = cache.dir("rootfs");
        Path base = dir.resolve("base-" + key);
        if (Files.isDirectory(base)) {
            return base;
        }
        progress.step("debootstrap " + SUITE + " minbase with " + String.join(" ", BASE_PACKAGES)
                + " (about a minute)");
        Path tmp = dir.resolve("base-" + key + ".tmp" + ProcessHandle.current().pid());
        Path log = cache.dir("logs").resolve("debootstrap.log");
        try {
            Files.deleteIfExists(log);
            Cache.deleteTree(tmp);
            Commands.run(List.of("debootstrap", "--variant=minbase", "--include=" + String.join(",", BASE_PACKAGES),
                    SUITE, tmp.toString(), mirror), log, Duration.ofMinutes(30), progress, "debootstrap");
            Commands.run(List.of("chroot", tmp.toString(), "apt-get", "clean"), log, Duration.ofMinutes(2),
                    progress, "apt-get clean");
            trim(tmp);
            Cache.publish(tmp, base);
        } catch (IOException e) {
            throw new VmmException("debootstrap failed: " + e.getMessage(), e);
        } finally {
            Cache.deleteTree(tmp);
        }
        return base;
    }

    private void chroot(Path tree, Path log, String what, List<String> command) {
        List<String> full = new ArrayList<>(List.of("chroot", tree.toString()));
        full.addAll(command);
        progress.step(what);
        Commands.run(full, log, Duration.ofMinutes(30), progress, what);
    }

    private static void installFunction(FunctionSource function, Path tree, byte[] init, byte[] busybox)
            throws IOException {
        Path sabre = tree.resolve("sabre");
        Path code = sabre.resolve("function");
        Files.createDirectories(code);
        for (Path src : new Path[] {function.common(), function.dir()}) {
            for (Path file : FunctionCatalog.files(src)) {
                Path to = code.resolve(src.relativize(file).toString());
                Files.createDirectories(to.getParent());
                Files.copy(file, to, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.write(sabre.resolve("init"), init);
        Files.write(sabre.resolve("busybox"), busybox);
        Files.writeString(sabre.resolve("function-name"), function.name() + "\n");
        for (Path exe : new Path[] {sabre.resolve("init"), sabre.resolve("busybox")}) {
            Files.setPosixFilePermissions(exe, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    /** Drops what a read-only function root never reads: apt lists, docs, man pages. */
    private static void trim(Path tree) {
        for (String d : new String[] {"var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info"}) {
            Path p = tree.resolve(d);
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                try (Stream<Path> children = Files.list(p)) {
                    for (Path c : children.toList()) {
                        Cache.deleteTree(c);
                    }
                } catch (IOException e) {
                    throw new VmmException("cannot trim " + p + ": " + e.getMessage(), e);
                }
            }
        }
    }
}
