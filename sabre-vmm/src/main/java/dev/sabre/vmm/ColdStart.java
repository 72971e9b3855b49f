package dev.sabre.vmm;

/**
 * vHive's three numbers for a restore: VM restore latency, cold start (the first invocation after the
 * restore) and their total, in microseconds, plus the reply of that first invocation.
 */
public record ColdStart(String strategy, long restoreMicros, long coldStartMicros, String reply) {
    public long totalMicros() {
        return restoreMicros + coldStartMicros;
    }

    /**
     * Restores the snapshot, invokes the function once and stops the VM, whatever happens.
     *
     * @param input the request's {@code name}
     */
    public static ColdStart measure(VmmDriver driver, VmSpec spec, Snapshot snapshot, MemoryBackend backend, String input) {
        Restored restored = driver.restore(spec, snapshot, backend);
        try (Vm vm = restored.vm()) {
            Invocation first = driver.invoke(vm, input);
            return new ColdStart(backend.name(), restored.restoreMicros(), first.micros(), first.reply());
        }
    }

    @Override
    public String toString() {
        return "restore from snapshot (us): " + restoreMicros + "\ncold start (us): " + coldStartMicros
                + "\ntotal (us): " + totalMicros();
    }
}
