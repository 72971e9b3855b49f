package dev.sabre.vmm;

import java.nio.file.Path;

/**
 * Everything needed to boot one function VM: kernel, initramfs and the function's root file system.
 * The {@link #id()} changes whenever any of them changes; snapshots record it so a restore can refuse
 * a snapshot taken from other images.
 *
 * @param function  function name
 * @param kernel    uncompressed ELF kernel
 * @param initramfs initramfs (cpio newc)
 * @param rootfs    read-only ext4 root file system
 * @param id        short content id of the three
 */
public record GuestImage(String function, Path kernel, Path initramfs, Path rootfs, String id) {
}
