/**
 * The microVM testbed's VMM-neutral API: boot a function VM, invoke it, snapshot it and restore it
 * with a {@link dev.sabre.vmm.RestoreMode}, measuring restore latency and cold start as vHive does.
 * {@link dev.sabre.vmm.VmmDriver} is implemented by the QEMU driver here and by a Firecracker driver.
 */
package dev.sabre.vmm;
