package dev.sabre.vmm.qemu;

import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.image.Cache;
import dev.sabre.vmm.image.NativeBuild;

import java.nio.file.Path;
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
    public static Path build(Cache cache, StepLog progress) {
        return NativeBuild.compile(cache, "preload", "sabre_uffd_preload", ".so",
                NativeBuild.source(PreloadLibrary.class, SOURCE), List.of("-shared", "-fPIC"), progress);
    }
}
