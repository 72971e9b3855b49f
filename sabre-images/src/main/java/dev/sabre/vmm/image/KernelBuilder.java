package dev.sabre.vmm.image;

import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;
import org.tukaani.xz.SingleXZInputStream;
import org.tukaani.xz.XZInputStream;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Fetches the Debian kernel package the host's apt offers ({@code apt-get download}, {@code dpkg -x},
 * nothing installed), extracts the uncompressed vmlinux from the bzImage, and keeps the modules the
 * guest needs (virtio transport, block, net, ext4 and their dependencies), decompressed so busybox
 * {@code insmod} can load them.
 */
public final class KernelBuilder {
    /** Modules the initramfs loads; their dependencies are added from each module's modinfo. */
    static final List<String> WANTED = List.of("virtio", "virtio_ring", "virtio_mmio", "virtio_blk",
            "virtio_net", "crc32c_generic", "crc16", "mbcache", "jbd2", "ext4");
    private static final byte[] XZ_MAGIC = {(byte) 0xfd, '7', 'z', 'X', 'Z', 0};

    private final Cache cache;
    private final StepLog progress;

    public KernelBuilder(Cache cache, StepLog progress) {
        this.cache = cache;
        this.progress = progress;
    }

    /** The cached kernel, fetched and unpacked on first use. */
    public KernelImage build() {
        String requested = System.getenv("SABRE_KERNEL_PACKAGE");
        String pkg;
        String version;
        // apt-cache takes seconds per call on a loaded host: its answer is kept until apt's package lists change.
        Path resolvedFile = cache.dir("kernel").resolve("candidate");
        String stamp = new Cache.Hasher().add("kernel-candidate-v1").add(String.valueOf(requested)).add(aptListsStamp()).hex();
        try {
            List<String> resolved = Files.isRegularFile(resolvedFile) ? Files.readAllLines(resolvedFile) : List.of();
            if (resolved.size() == 3 && resolved.get(0).equals(stamp)) {
                pkg = resolved.get(1);
                version = resolved.get(2);
            } else {
                pkg = requested == null || requested.isBlank() ? candidateKernelPackage() : requested.strip();
                version = field(Commands.output(List.of("apt-cache", "show", "--no-all-versions", pkg),
                        Duration.ofSeconds(30)), "Version");
                Path tmp = resolvedFile.resolveSibling("candidate.tmp" + ProcessHandle.current().pid());
                Files.writeString(tmp, stamp + "\n" + pkg + "\n" + version + "\n");
                Files.move(tmp, resolvedFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | VmmException e) {
            KernelImage cached = anyCached();
            if (cached != null) {
                progress.step("apt cannot resolve the kernel package (" + e.getMessage() + "); using cached "
                        + cached.release());
                return cached;
            }
            throw new VmmException("cannot find the Debian kernel package through apt (run apt-get update?): "
                    + e.getMessage(), e);
        }
        Path dir = cache.dir("kernel").resolve(pkg + "_" + version.replace(':', '_'));
        KernelImage image = load(dir);
        if (image != null) {
            return image;
        }
        progress.step("fetching kernel " + pkg + " " + version);
        Path tmp = cache.dir("kernel").resolve(dir.getFileName() + ".tmp" + ProcessHandle.current().pid());
        Cache.deleteTree(tmp);
        try {
            Files.createDirectories(tmp.resolve("deb"));
            Path log = tmp.resolve("build.log");
            Commands.run(List.of("apt-get", "download", "-q", pkg + "=" + version), log, Duration.ofMinutes(10),
                    progress, "apt-get download " + pkg, tmp.resolve("deb"));
            Path deb;
            try (Stream<Path> debs = Files.list(tmp.resolve("deb"))) {
                deb = debs.filter(p -> p.toString().endsWith(".deb")).findFirst()
                        .orElseThrow(() -> new VmmException("apt-get download " + pkg + " produced no .deb"));
            }
            Path unpacked = tmp.resolve("unpacked");
            Commands.run(List.of("dpkg", "-x", deb.toString(), unpacked.toString()), log, Duration.ofMinutes(5),
                    progress, "dpkg -x " + deb.getFileName());
            Path vmlinuz;
            try (Stream<Path> boot = Files.list(unpacked.resolve("boot"))) {
                vmlinuz = boot.filter(p -> p.getFileName().toString().startsWith("vmlinuz-")).findFirst()
                        .orElseThrow(() -> new VmmException("no boot/vmlinuz-* in " + deb));
            }
            String release = vmlinuz.getFileName().toString().substring("vmlinuz-".length());
            progress.step("extracting vmlinux from " + vmlinuz.getFileName());
            Files.write(tmp.resolve("vmlinux"), extractVmlinux(Files.readAllBytes(vmlinuz), vmlinuz));
            List<String> order = copyModules(unpacked.resolve("lib/modules").resolve(release), tmp.resolve("modules"));
            Files.writeString(tmp.resolve("release"), release + "\n");
            Files.writeString(tmp.resolve("modules.order"), String.join("\n", order) + "\n");
            Cache.deleteTree(unpacked);
            Cache.deleteTree(tmp.resolve("deb"));
            Cache.deleteTree(dir);
            Cache.publish(tmp, dir);
        } catch (IOException e) {
            throw new VmmException("cannot unpack kernel " + pkg + ": " + e.getMessage(), e);
        } finally {
            Cache.deleteTree(tmp);
        }
        KernelImage built = load(dir);
        if (built == null) {
            throw new VmmException("kernel cache entry " + dir + " is incomplete after building it");
        }
        return built;
    }

    /** Names, sizes and times of apt's package lists: what apt-cache's answers depend on. */
    private static String aptListsStamp() {
        StringBuilder stamp = new StringBuilder();
        try (Stream<Path> lists = Files.list(Path.of("/var/lib/apt/lists"))) {
            for (Path list : lists.sorted().toList()) {
                stamp.append(list.getFileName()).append(' ').append(Files.size(list)).append(' ')
                        .append(Files.getLastModifiedTime(list).toMillis()).append('\n');
            }
        } catch (IOException e) {
            stamp.append("unreadable ").append(System.nanoTime()); // never matches: apt-cache is asked
        }
        return stamp.toString();
    }

    /** The versioned image package the {@code linux-image-amd64} candidate depends on. */
    static String candidateKernelPackage() {
        String depends = field(Commands.output(List.of("apt-cache", "show", "--no-all-versions", "linux-image-amd64"),
                Duration.ofSeconds(30)), "Depends");
        for (String alt : depends.split("[,|]")) {
            String name = alt.strip().split("\\s")[0];
            if (name.startsWith("linux-image-")) {
                return name;
            }
        }
        throw new VmmException("linux-image-amd64 depends on no linux-image package: " + depends);
    }

    private static String field(String control, String name) {
        for (String line : control.lines().toList()) {
            if (line.startsWith(name + ": ")) {
                return line.substring(name.length() + 2).strip();
            }
        }
        throw new VmmException("no " + name + " field in apt-cache output");
    }

    private KernelImage anyCached() {
        try (Stream<Path> dirs = Files.list(cache.dir("kernel"))) {
            for (Path d : dirs.sorted(java.util.Comparator.reverseOrder()).toList()) {
                KernelImage k = load(d);
                if (k != null) {
                    return k;
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    private static KernelImage load(Path dir) {
        try {
            if (!Files.isRegularFile(dir.resolve("modules.order")) || !Files.isRegularFile(dir.resolve("vmlinux"))) {
                return null;
            }
            String release = Files.readString(dir.resolve("release")).strip();
            List<String> modules = Files.readAllLines(dir.resolve("modules.order")).stream()
                    .map(String::strip).filter(s -> !s.isEmpty()).toList();
            return new KernelImage(release, dir.resolve("vmlinux"), dir.resolve("modules"), modules);
        } catch (IOException e) {
            return null;
        }
    }

    /** Decompresses the XZ stream embedded in a bzImage and checks that it is an ELF kernel. */
    static byte[] extractVmlinux(byte[] bzImage, Path source) {
        for (int at = indexOf(bzImage, XZ_MAGIC, 0); at >= 0; at = indexOf(bzImage, XZ_MAGIC, at + 1)) {
            try (InputStream in = new SingleXZInputStream(new ByteArrayInputStream(bzImage, at, bzImage.length - at))) {
                byte[] elf = in.readAllBytes();
                if (Elf.isElf(elf)) {
                    return elf;
                }
            } catch (IOException e) {
                // not a complete stream at this offset; try the next magic
            }
        }
        throw new VmmException(source + ": no XZ-compressed ELF kernel found in the bzImage");
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** Copies the wanted modules and their dependencies, decompressed; returns them in load order. */
    static List<String> copyModules(Path moduleRoot, Path target) throws IOException {
        Map<String, Path> all = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(moduleRoot.resolve("kernel"))) {
            walk.filter(Files::isRegularFile).forEach(p -> {
                String f = p.getFileName().toString();
                int dot = f.indexOf(".ko");
                if (dot > 0) {
                    all.put(f.substring(0, dot).replace('-', '_'), p);
                }
            });
        }
        Files.createDirectories(target);
        Set<String> order = new LinkedHashSet<>();
        for (String m : WANTED) {
            addWithDeps(m, all, target, order, new ArrayList<>());
        }
        return List.copyOf(order);
    }

    private static void addWithDeps(String module, Map<String, Path> all, Path target, Set<String> order,
                                    List<String> chain) throws IOException {
        if (order.contains(module)) {
            return;
        }
        if (chain.contains(module)) {
            throw new VmmException("module dependency cycle: " + chain + " -> " + module);
        }
        Path file = all.get(module);
        if (file == null) {
            // Built into this kernel (no module file): nothing to load.
            return;
        }
        byte[] ko = decompress(file);
        chain.add(module);
        for (String dep : modinfo(ko, "depends")) {
            addWithDeps(dep.replace('-', '_'), all, target, order, chain);
        }
        chain.removeLast();
        Files.write(target.resolve(module + ".ko"), ko);
        order.add(module);
    }

    private static byte[] decompress(Path file) throws IOException {
        byte[] raw = Files.readAllBytes(file);
        if (file.toString().endsWith(".xz")) {
            try (InputStream in = new XZInputStream(new ByteArrayInputStream(raw))) {
                return in.readAllBytes();
            }
        }
        if (file.toString().endsWith(".ko")) {
            return raw;
        }
        throw new VmmException("cannot decompress kernel module " + file + " (only .ko and .ko.xz are handled)");
    }

    /** Comma-separated values of a {@code key=} entry in the module's .modinfo strings. */
    static List<String> modinfo(byte[] ko, String key) {
        byte[] needle = ("\0" + key + "=").getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(ko, needle, 0);
        if (at < 0) {
            return List.of();
        }
        int start = at + needle.length;
        int end = start;
        while (end < ko.length && ko[end] != 0) {
            end++;
        }
        String value = new String(ko, start, end - start, StandardCharsets.US_ASCII).strip();
        return value.isEmpty() ? List.of() : List.of(value.split(","));
    }
}
