package dev.sabre.vmm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;

/**
 * The per-process directories VMs and handlers run in (sockets, logs, a booted VM's memory file): made
 * under the temporary directory, removed when their owner stops unless the system property
 * {@code sabre.keepVmDirs=true} keeps them for debugging; and the tails of the logs in them, for errors.
 */
public final class WorkDir {
    private WorkDir() {
    }

    /** A new directory {@code PREFIX-RANDOM} under the temporary directory. */
    public static Path create(String prefix) {
        try {
            return Files.createTempDirectory(prefix + "-");
        } catch (IOException e) {
            throw new VmmException("cannot create a work directory " + prefix + "-*: " + e.getMessage(), e);
        }
    }

    /** Removes a work directory its owner is done with, unless {@code sabre.keepVmDirs} keeps it. */
    public static void release(Path dir) {
        if (!Boolean.getBoolean("sabre.keepVmDirs")) {
            deleteTree(dir);
        }
    }

    /** Deletes a file tree if it exists (does not follow symbolic links). */
    public static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    if (e != null) {
                        throw e;
                    }
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new VmmException("cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The last {@code lines} lines of a text file, or a note that it cannot be read. */
    public static String tail(Path file, int lines) {
        try {
            if (!Files.exists(file)) {
                return "(no " + file + ")";
            }
            byte[] bytes = Files.readAllBytes(file);
            int from = Math.max(0, bytes.length - 64 * 1024);
            String text = new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8);
            List<String> all = text.lines().toList();
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e.getMessage() + ")";
        }
    }
}
