package dev.sabre.vmm;

/**
 * A VM restored from a snapshot and resumed, with the VM restore latency as vHive reports it:
 * from starting the VMM process to the guest running again.
 */
public record Restored(Vm vm, long restoreMicros) {
}
