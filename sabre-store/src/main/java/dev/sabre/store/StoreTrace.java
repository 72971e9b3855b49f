package dev.sabre.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * Timing of the store's read path, phase by phase (requests, first bytes, hashing, cache writes), for finding
 * where a restore's time goes: off unless {@code $SABRE_STORE_TRACE} names a file, to which one line per event
 * is appended ({@code <ms since the JVM's clock origin> <thread> <event>}). Handlers inherit the variable, so
 * one file collects a benchmark's handlers. Names objects by key only, never credentials.
 */
public final class StoreTrace {
    private static final Path FILE = file();

    private StoreTrace() {
    }

    private static Path file() {
        String value = System.getenv("SABRE_STORE_TRACE");
        return value == null || value.isBlank() ? null : Path.of(value);
    }

    /** Whether tracing is on: callers skip building messages otherwise. */
    public static boolean on() {
        return FILE != null;
    }

    /** Appends one event line (when on); a trace that cannot be written is dropped, never an error. */
    public static void event(String format, Object... args) {
        if (FILE == null) {
            return;
        }
        String line = String.format(Locale.ROOT, "%.3f %s %s%n", System.nanoTime() / 1e6, Thread.currentThread().getName(),
                String.format(Locale.ROOT, format, args));
        synchronized (StoreTrace.class) {
            try {
                Files.writeString(FILE, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                // tracing is best effort
            }
        }
    }

    /** Milliseconds since {@code startNanos}, for trace lines. */
    public static double ms(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e6;
    }
}
