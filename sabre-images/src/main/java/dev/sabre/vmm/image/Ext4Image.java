package dev.sabre.vmm.image;

import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

/**
 * A read-only ext4 root file system image made from a directory tree with {@code mkfs.ext4 -d} (owners, modes,
 * links, device nodes and extended attributes as the tree holds them), sized to the tree plus a fifth and
 * 64 MiB; and the cache's naming of such images ({@code NAME-HASH.ext4}), whichever builder made the tree.
 */
final class Ext4Image {
    private Ext4Image() {
    }

    /** Makes {@code image} from {@code tree}; mkfs.ext4's output goes to {@code log}. */
    static void make(Path tree, Path image, Path log) throws IOException {
        long[] usage = usage(tree);
        long bytes = usage[0] + usage[0] / 5 + (64L << 20);
        long blocks = (bytes + 4095) / 4096;
        long inodes = usage[1] + usage[1] / 5 + 1024;
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(blocks * 4096);
        }
        Commands.run(List.of("mkfs.ext4", "-q", "-F", "-L", "sabre-root", "-m", "0", "-b", "4096",
                "-O", "^has_journal", "-N", Long.toString(inodes), "-d", tree.toString(), image.toString(),
                Long.toString(blocks)), log, Duration.ofMinutes(10), StepLog.silent(), "mkfs.ext4");
    }

    /** Bytes (rounded up to 4 KiB per file) and entries under a tree. */
    private static long[] usage(Path tree) throws IOException {
        long[] usage = new long[2];
        try (Stream<Path> walk = Files.walk(tree)) {
            walk.forEach(p -> {
                usage[1]++;
                try {
                    if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                        usage[0] += (Files.size(p) + 4095) / 4096 * 4096;
                    } else {
                        usage[0] += 4096;
                    }
                } catch (IOException e) {
                    throw new VmmException("cannot stat " + p + ": " + e.getMessage(), e);
                }
            });
        }
        return usage;
    }

    /** Deletes older images of the function {@code name} in {@code dir} (named NAME-HASH.ext4), keeping {@code keep}. */
    static void deleteStale(Path dir, String name, Path keep) {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                String f = p.getFileName().toString();
                if (f.startsWith(name + "-") && f.endsWith(".ext4") && !p.equals(keep)
                        && f.substring(name.length() + 1).matches("[0-9a-f]{16}\\.ext4")) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            // stale images only waste space
        }
    }

    static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }
}
