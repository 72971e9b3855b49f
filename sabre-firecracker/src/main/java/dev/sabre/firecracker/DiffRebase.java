package dev.sabre.firecracker;

import dev.sabre.linux.SparseFile;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Merges a Diff memory file onto its base, the job of Firecracker's {@code snapshot-editor edit-memory
 * rebase}: the Diff's data extents (its dirty pages; found with SEEK_DATA/SEEK_HOLE) overwrite the
 * same offsets of the base. Only data is copied, so holes stay holes and the result is as sparse as
 * its inputs. The result is a Full memory file, restorable as it is or packed into a .sabre file.
 */
public final class DiffRebase {
    private DiffRebase() {
    }

    /**
     * Writes base + diff to {@code out} (temporary name, fsync, rename); the inputs are left unchanged. A
     * null {@code baseMemory} stands for a Diff taken since boot, whose holes are zero pages.
     */
    public static void rebase(Path baseMemory, Path diffMemory, Path out) {
        long size = checkSizes(baseMemory, diffMemory);
        Path dir = out.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, "." + out.getFileName() + ".", ".tmp");
            try (RandomAccessFile file = new RandomAccessFile(tmp.toFile(), "rw")) {
                file.setLength(size); // one hole of the full size; only data is written into it
                FileChannel dst = file.getChannel();
                if (baseMemory != null) {
                    copyData(baseMemory, dst);
                }
                copyData(diffMemory, dst);
                dst.force(true);
            }
            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
        } catch (IOException e) {
            throw new VmmException("cannot rebase " + diffMemory + " onto " + baseMemory + " into " + out + ": " + e.getMessage(), e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    /** Writes the Diff's data into {@code baseMemory} itself, as {@code snapshot-editor edit-memory rebase} does. */
    public static void rebaseInPlace(Path baseMemory, Path diffMemory) {
        checkSizes(baseMemory, diffMemory);
        try (FileChannel dst = FileChannel.open(baseMemory, StandardOpenOption.WRITE)) {
            copyData(diffMemory, dst);
            dst.force(true);
        } catch (IOException e) {
            throw new VmmException("cannot rebase " + diffMemory + " onto " + baseMemory + ": " + e.getMessage(), e);
        }
    }

    /**
     * Turns the Diff snapshot {@code diff} into a Full snapshot in the new or empty {@code outDir}: its
     * memory is the Diff merged onto its base ({@code firecracker.json} names it; a Diff taken since boot
     * has none, its holes are zeros), its device state is the Diff's.
     */
    public static Snapshot rebase(Snapshot diff, Path outDir) {
        Path diffDir = diff.stateFile().getParent();
        SnapshotInfo info = SnapshotInfo.load(diffDir);
        if (info.kind() != SnapshotKind.DIFF) {
            throw new VmmException("snapshot " + diffDir + " is a Full snapshot, not a Diff: nothing to rebase");
        }
        Path baseMemory = null;
        if (info.base() != null) {
            Snapshot base = Snapshot.load(info.base());
            if (SnapshotInfo.load(info.base()).kind() != SnapshotKind.FULL) {
                throw new VmmException("the base " + info.base() + " of " + diffDir + " is itself a Diff: rebase it first");
            }
            if (base.memoryBytes() != diff.memoryBytes()) {
                throw new VmmException("the base " + info.base() + " has " + (base.memoryBytes() >> 20) + " MiB of guest memory, the Diff "
                        + diffDir + " " + (diff.memoryBytes() >> 20) + " MiB");
            }
            if (!base.function().equals(diff.function()) || !base.imageId().equals(diff.imageId())) {
                throw new VmmException("the base " + info.base() + " is of another function or other guest images than " + diffDir);
            }
            baseMemory = base.memoryFile();
        }
        try {
            Files.createDirectories(outDir);
            Path memory = outDir.resolve("memory");
            Path state = outDir.resolve("vmstate");
            rebase(baseMemory, diff.memoryFile(), memory);
            Files.copy(diff.stateFile(), state, StandardCopyOption.REPLACE_EXISTING);
            Snapshot full = new Snapshot(diff.function(), diff.vmm(), diff.memoryBytes(), diff.imageId(), state, memory);
            new SnapshotInfo(SnapshotKind.FULL, null, info.network(), info.vsock()).save(outDir);
            full.save();
            return full;
        } catch (IOException e) {
            throw new VmmException("cannot write the rebased snapshot to " + outDir + ": " + e.getMessage(), e);
        }
    }

    private static long checkSizes(Path baseMemory, Path diffMemory) {
        try {
            long diffSize = Files.size(diffMemory);
            if (baseMemory != null && Files.size(baseMemory) != diffSize) {
                throw new VmmException("cannot rebase " + diffMemory + " (" + diffSize + " bytes) onto " + baseMemory + " ("
                        + Files.size(baseMemory) + " bytes): snapshots of different memory sizes");
            }
            return diffSize;
        } catch (IOException e) {
            throw new VmmException("cannot read " + (baseMemory == null ? diffMemory : baseMemory + " or " + diffMemory)
                    + ": " + e.getMessage(), e);
        }
    }

    /** Copies every data extent of {@code src} to the same offset of {@code dst}. */
    private static void copyData(Path src, FileChannel dst) throws IOException {
        List<SparseFile.Extent> extents = SparseFile.dataExtents(src);
        try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ)) {
            for (SparseFile.Extent e : extents) {
                long done = 0;
                while (done < e.length()) {
                    long n = in.transferTo(e.offset() + done, e.length() - done, dst.position(e.offset() + done));
                    if (n <= 0) {
                        throw new IOException(src + " ended at " + (e.offset() + done) + " inside a data extent");
                    }
                    done += n;
                }
            }
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
