/**
 * Guest images built from Debian packages or container images and cached outside the repository: the Debian
 * kernel (as an uncompressed vmlinux), a busybox initramfs that loads the virtio and ext4 modules, and one
 * read-only root file system per function, from its directory or from its container image.
 */
package dev.sabre.vmm.image;
