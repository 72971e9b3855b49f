/**
 * Guest images built from Debian packages and cached outside the repository: the Debian kernel (as an
 * uncompressed vmlinux), a busybox initramfs that loads the virtio and ext4 modules, and one read-only
 * root file system per function directory.
 */
package dev.sabre.vmm.image;
