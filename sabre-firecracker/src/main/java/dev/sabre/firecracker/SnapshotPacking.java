package dev.sabre.firecracker;

import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.Packer;
import dev.sabre.format.Progress;
import dev.sabre.linux.SparseFile;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Packs Firecracker memory files into .sabre snapshots reading only their data extents
 * (SEEK_DATA/SEEK_HOLE): a sparse Diff costs what its dirty pages cost, not its full size.
 */
public final class SnapshotPacking {
    /** The name of the packed memory inside a snapshot directory. */
    public static final String SABRE_FILE = "memory.sabre";

    private SnapshotPacking() {
    }

    /**
     * Packs {@code memory} into {@code out}. With {@code holesAreZero} the file is a whole guest memory
     * (a Full file, a rebased Diff, or a Diff taken since boot) whose holes are zero pages; without it,
     * it is a Diff whose holes are pages absent from the snapshot.
     */
    public static Packer.Result pack(Path memory, Path out, boolean holesAreZero, PackOptions options, Progress progress) {
        try {
            List<long[]> extents = SparseFile.dataExtents(memory).stream()
                    .map(e -> new long[] {e.offset(), e.length()})
                    .toList();
            try (MemoryImage image = MemoryImage.open(memory, 4096, extents, holesAreZero)) {
                return Packer.pack(image, out, options, progress);
            }
        } catch (IOException | RuntimeException e) {
            throw new VmmException("cannot pack " + memory + " into " + out + ": " + e.getMessage(), e);
        }
    }

    /**
     * Packs the memory of a restorable snapshot into {@code memory.sabre} beside it: a Full snapshot, or
     * a Diff taken since boot (its holes are zeros). A Diff on a base must be rebased first.
     */
    public static Path pack(Snapshot snapshot, PackOptions options, Progress progress) {
        Path dir = snapshot.stateFile().getParent();
        SnapshotInfo info = SnapshotInfo.load(dir);
        if (info.kind() == SnapshotKind.DIFF && info.base() != null) {
            throw new VmmException("snapshot " + dir + " is a Diff on " + info.base() + ": rebase it first (DiffRebase.rebase)");
        }
        Path out = dir.resolve(SABRE_FILE);
        pack(snapshot.memoryFile(), out, true, options, progress);
        return out;
    }
}
