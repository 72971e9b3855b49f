package dev.sabre.vmm;

/**
 * Receives one human-readable line per step of a long operation (image builds, boots, snapshots). Not to be
 * confused with {@code dev.sabre.format.Progress}, which counts units done of a total (packing, unpacking).
 */
@FunctionalInterface
public interface StepLog {
    void step(String line);

    /** Step lines on standard error, prefixed with {@code [sabre]}. */
    static StepLog stderr() {
        return line -> System.err.println("[sabre] " + line);
    }

    /** Discards the steps. */
    static StepLog silent() {
        return line -> { };
    }
}
