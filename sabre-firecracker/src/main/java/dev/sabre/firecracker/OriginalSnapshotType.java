package dev.sabre.firecracker;

import dev.sabre.codec.CodecId;
import dev.sabre.handler.HandlerConfig;
import dev.sabre.handler.Strategy;
import dev.sabre.vmm.MemoryBackend;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.VmmException;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The snapshot types of the original system's Firecracker fork, and what each one is here: the
 * snapshot Firecracker takes, the memory artifact a restore reads, and the restore strategy that
 * serves it. A user of the original finds each type by its name ({@link #of(String)}); none needs a
 * fork, because the strategies run in our page-fault handler behind stock Firecracker's Uffd backend
 * ({@link #handler}), except the stock types, which use its File backend.
 */
public enum OriginalSnapshotType {
    /** Stock Full snapshot, restored by Firecracker mapping the memory file (File backend). */
    FULL("Full", SnapshotKind.FULL, null, CodecId.NONE),
    /** Stock Diff snapshot, merged onto its base (none: since boot, holes are zeros); File backend. */
    DIFF("Diff", SnapshotKind.DIFF, null, CodecId.NONE),
    /** Sabre: the memory packed into .sabre, streamed in with parallel decompression while the guest runs. */
    FULL_COMPRESSED("FullCompressed", SnapshotKind.FULL, Strategy.SABRE, CodecId.NONE),
    /** Sabre: the Diff's dirty pages (its data extents only) packed into .sabre, restored as FullCompressed. */
    DIFF_COMPRESSED("DiffCompressed", SnapshotKind.DIFF, Strategy.SABRE, CodecId.NONE),
    /** REAP's first restore: every page lazily from the raw memory file; the faulting pages become a raw working set. */
    REAP_RECORD("REAPRecord", SnapshotKind.FULL, Strategy.REAP_RECORD, CodecId.NONE),
    /** REAP's later restores: the raw working set installed first, the rest lazily. */
    REAP_REPLAY("REAPReplay", SnapshotKind.FULL, Strategy.REAP, CodecId.NONE),
    /** Sabre's REAP compressed, recording: as REAPRecord, the working set stored compressed (zstd). */
    REAP_RECORD_COMPRESS("REAPRecordCompress", SnapshotKind.FULL, Strategy.REAP_RECORD, CodecId.ZSTD),
    /** Sabre's REAP compressed, replay: the compressed working set decompressed in parallel and installed, the rest lazily. */
    REAP_REPLAY_COMPRESS("REAPReplayCompress", SnapshotKind.FULL, Strategy.REAP_COMPRESSED, CodecId.ZSTD);

    /** Working-set file names inside a snapshot directory. */
    public static final String RAW_WORKING_SET = "ws.raw.sabre";
    public static final String COMPRESSED_WORKING_SET = "ws.zstd.sabre";

    private final String originalName;
    private final SnapshotKind kind;
    private final Strategy strategy;
    private final CodecId workingSetCodec;

    OriginalSnapshotType(String originalName, SnapshotKind kind, Strategy strategy, CodecId workingSetCodec) {
        this.originalName = originalName;
        this.kind = kind;
        this.strategy = strategy;
        this.workingSetCodec = workingSetCodec;
    }

    /** The name in the original's API ({@code FullCompressed}, {@code REAPReplay}...). */
    public String originalName() {
        return originalName;
    }

    /** The snapshot Firecracker takes ({@code snapshot_type}). */
    public SnapshotKind kind() {
        return kind;
    }

    /** The handler's strategy, or null for the stock File backend. */
    public Strategy strategy() {
        return strategy;
    }

    /** The stable name of the restore: {@code file} or the handler strategy's label. */
    public String strategyName() {
        return strategy == null ? "file" : strategy.label();
    }

    /** True when the VM loads with the Uffd backend, i.e. our page-fault handler serves its memory. */
    public boolean usesHandler() {
        return strategy != null;
    }

    /**
     * The handler configuration that serves a restore of this type from {@code snapshot} (a Full snapshot,
     * a rebased Diff, or a Diff since boot) on {@code socket}: the .sabre file beside the memory for the
     * compressed types ({@link SnapshotPacking#pack(Snapshot, dev.sabre.format.PackOptions, dev.sabre.format.Progress)}),
     * the working set to write (record) or replay in the snapshot directory for the REAP types. Null for
     * the stock types, which need no handler.
     */
    public HandlerConfig handler(Snapshot snapshot, Path socket) {
        Path dir = snapshot.stateFile().getParent();
        Path ws = dir.resolve(workingSetCodec == CodecId.NONE ? RAW_WORKING_SET : COMPRESSED_WORKING_SET);
        return switch (this) {
            case FULL, DIFF -> null;
            case FULL_COMPRESSED, DIFF_COMPRESSED -> HandlerConfig.of(socket, dir.resolve(SnapshotPacking.SABRE_FILE), strategy);
            case REAP_RECORD, REAP_RECORD_COMPRESS -> HandlerConfig.of(socket, snapshot.memoryFile(), strategy).withWorkingSet(ws)
                    .withWorkingSetCodec(workingSetCodec, workingSetCodec == CodecId.NONE ? 0 : 3);
            case REAP_REPLAY, REAP_REPLAY_COMPRESS -> HandlerConfig.of(socket, snapshot.memoryFile(), strategy).withWorkingSet(ws);
        };
    }

    /** Where a restore of this type gets guest memory: the File backend, or Uffd through {@code socket}. */
    public MemoryBackend memoryBackend(Path socket) {
        return usesHandler() ? MemoryBackend.uffd(socket) : MemoryBackend.file();
    }

    /** The type of the original's name, case-insensitively; unknown names list the known ones. */
    public static OriginalSnapshotType of(String name) {
        for (OriginalSnapshotType t : values()) {
            if (t.originalName.equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new VmmException("unknown snapshot type '" + name + "'; known: "
                + Arrays.stream(values()).map(OriginalSnapshotType::originalName).collect(Collectors.joining(", ")));
    }
}
