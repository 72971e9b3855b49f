package dev.sabre.restore;

import dev.sabre.format.Progress;
import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.Fds;
import dev.sabre.linux.FileIo;
import dev.sabre.linux.LinuxException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a snapshot back out as a raw memory file of the full memory size, through the restore engine
 * with a {@link FileInstaller}. Zero and absent pages are left as holes, so the file is sparse; the
 * result appears under its name only when complete (temporary name, fsync, rename).
 */
public final class Unpacker {
    private Unpacker() {
    }

    /** Unpacks {@code snapshot} to {@code out}; returns the number of page bytes written (excluding holes). */
    public static long unpack(SnapshotReader snapshot, Path out, RestoreOptions options, Progress progress) throws IOException {
        Path dir = out.toAbsolutePath().getParent();
        Path temp = Files.createTempFile(dir, "." + out.getFileName() + ".", ".tmp");
        boolean done = false;
        int fd = FileIo.open(temp, FileIo.O_WRONLY | FileIo.O_CLOEXEC);
        try {
            long memorySize = snapshot.header().memorySize();
            try {
                // Sized first, so a file system that cannot hold the memory says so before any work; the
                // extension is one hole, and the pages written into it leave zero pages as holes too.
                FileIo.ftruncate(fd, memorySize);
            } catch (LinuxException e) {
                throw new IOException("%s: cannot hold the snapshot's %d bytes of memory: %s".formatted(out, memorySize,
                        e.getMessage()), e);
            }
            RestoreMetrics metrics;
            try (RestoreEngine engine = RestoreEngine.start(snapshot, new FileInstaller(fd, out), options.withZeroPages(false),
                    progress)) {
                metrics = engine.await();
            }
            FileIo.fsync(fd);
            Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            done = true;
            return metrics.bytesInstalled();
        } finally {
            Fds.close(fd);
            if (!done) {
                Files.deleteIfExists(temp);
            }
        }
    }
}
