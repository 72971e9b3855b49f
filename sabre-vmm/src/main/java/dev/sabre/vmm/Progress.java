package dev.sabre.vmm;

/** Receives one human-readable line per step of a long operation (image builds, boots). */
@FunctionalInterface
public interface Progress {
    void step(String line);

    /** Progress lines on standard error, prefixed with {@code [sabre]}. */
    static Progress stderr() {
        return line -> System.err.println("[sabre] " + line);
    }

    /** Discards progress. */
    static Progress silent() {
        return line -> { };
    }
}
