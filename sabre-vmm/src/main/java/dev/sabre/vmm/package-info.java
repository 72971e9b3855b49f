/**
 * The VMM API: boot a function VM, invoke it, snapshot it and restore it with a
 * {@link dev.sabre.vmm.MemoryBackend}, measuring restore latency and cold start as vHive does.
 * {@link dev.sabre.vmm.VmmDriver} is implemented by the QEMU driver (sabre-qemu) and the Firecracker driver
 * (sabre-firecracker), whose VMs extend {@link dev.sabre.vmm.ProcessVm} and which share
 * {@link dev.sabre.vmm.DriverSupport}, {@link dev.sabre.vmm.WorkDir} and {@link dev.sabre.vmm.ChildProcess}.
 */
package dev.sabre.vmm;
