package dev.sabre.format;

/** Receives progress of long work; called from worker threads, so implementations must be thread-safe. */
@FunctionalInterface
public interface Progress {
    /** {@code done} of {@code total} units (bytes unless the phase says otherwise) of {@code phase} are complete. */
    void update(String phase, long done, long total);

    Progress NONE = (phase, done, total) -> { };
}
