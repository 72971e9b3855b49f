package dev.sabre.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Drops the host's page caches ({@code sync; echo 3 > /proc/sys/vm/drop_caches}), so that every restore
 * reads its snapshot from storage, as vHive's experiments do. Needs root and affects the whole machine.
 */
public final class PageCache {
    private static final Path DROP = Path.of("/proc/sys/vm/drop_caches");

    private PageCache() {
    }

    /** Drops the caches; returns null on success, else why it could not. */
    public static String drop() {
        try {
            Process sync = new ProcessBuilder("sync").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!sync.waitFor(120, TimeUnit.SECONDS)) {
                sync.destroyForcibly();
                return "sync did not finish within 120 s";
            }
            Files.writeString(DROP, "3\n");
            return null;
        } catch (IOException e) {
            return "cannot write " + DROP + " (" + e.getMessage() + "; needs root)";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }
}
