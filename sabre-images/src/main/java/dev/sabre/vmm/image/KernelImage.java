package dev.sabre.vmm.image;

import java.nio.file.Path;
import java.util.List;

/**
 * A Debian guest kernel unpacked into the cache.
 *
 * @param release    the kernel release, e.g. {@code 6.1.0-56-amd64}
 * @param vmlinux    the uncompressed ELF kernel (boots about twice as fast as the bzImage under TCG)
 * @param moduleDir  directory of the decompressed modules the initramfs loads
 * @param modules    module names in load order (dependencies first)
 */
public record KernelImage(String release, Path vmlinux, Path moduleDir, List<String> modules) {
}
