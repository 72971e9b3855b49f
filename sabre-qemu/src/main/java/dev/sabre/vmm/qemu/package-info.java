/**
 * The QEMU microvm driver (QMP, memory-backend-file, x-ignore-shared migration) and the preload bridge
 * that serves QEMU's guest RAM through the Firecracker userfaultfd handshake.
 */
package dev.sabre.vmm.qemu;
