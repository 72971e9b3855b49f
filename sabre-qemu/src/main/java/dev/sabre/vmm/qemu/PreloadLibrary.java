package dev.sabre.vmm.qemu;

import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.image.Cache;
import dev.sabre.vmm.image.Commands;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The QEMU preload bridge: a small C library, shipped as source and compiled with the host's gcc into
 * the cache on first use, that QEMU loads through {@code LD_PRELOAD}. It replaces QEMU's mapping of the
 * guest RAM file with anonymous memory registered with a userfaultfd and hands that to the page-fault
 * handler with Firecracker's handshake, which QEMU cannot do by itself.
 */
public final class PreloadLibrary {
    /** Environment variable: canonical path of the RAM file whose mapping is taken over. */
    public static final String ENV_MEM_PATH = "SABRE_UFFD_MEM_PATH";
    /** Environment variable: the handler's Unix socket. */
    public static final String ENV_SOCKET = "SABRE_UFFD_SOCKET";
    /** Environment variable: {@code 1} maps the replacement on 2 MiB hugetlb pages (handshake page size 2 MiB). */
    public static final String ENV_HUGE_PAGES = "SABRE_UFFD_HUGE_PAGES";
    private static final String SOURCE = "/dev/sabre/vmm/qemu/native/sabre_uffd_preload.c";

    private PreloadLibrary() {
    }

    /** The compiled library in the cache, built when the source changed. */
    public static synchronized Path build(Cache cache, StepLog progress) {
        byte[] source;
        try (InputStream in = PreloadLibrary.class.getResourceAsStream(SOURCE)) {
            if (in == null) {
                throw new VmmException("missing class-path resource " + SOURCE);
            }
            source = in.readAllBytes();
        } catch (IOException e) {
            throw new VmmException("cannot read " + SOURCE + ": " + e.getMessage(), e);
        }
        Path dir = cache.dir("preload");
        Path lib = dir.resolve("sabre_uffd_preload-" + new Cache.Hasher().add(source).hex() + ".so");
        if (Files.isRegularFile(lib)) {
            return lib;
        }
        if (!Files.isExecutable(Path.of("/usr/bin/gcc"))) {
            throw new VmmException("the QEMU preload bridge needs gcc; install it with: apt-get install -y gcc libc6-dev");
        }
        progress.step("compiling the QEMU preload bridge");
        long pid = ProcessHandle.current().pid();
        Path src = dir.resolve("sabre_uffd_preload.c.tmp" + pid);
        Path tmp = dir.resolve(lib.getFileName() + ".tmp" + pid);
        try {
            Files.write(src, source);
            Commands.run(List.of("gcc", "-x", "c", "-std=gnu11", "-O2", "-Wall", "-Werror", "-shared", "-fPIC",
                    "-o", tmp.toString(), src.toString()), dir.resolve("build.log"), Duration.ofMinutes(2),
                    progress, "gcc sabre_uffd_preload.c");
            Files.move(tmp, lib, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return lib;
        } catch (IOException e) {
            throw new VmmException("cannot build the preload library: " + e.getMessage(), e);
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
