package dev.sabre.format;

import java.nio.ByteOrder;

/**
 * Constants of the .sabre file format; FORMAT.md at the repository root documents every byte.
 * Versions are named constants, one per bump, and old versions stay readable.
 */
public final class SnapshotFormat {
    /** "SABRESNP" read as a little-endian u64: the first eight bytes of every snapshot. */
    public static final long MAGIC = 0x504E534552424153L;
    /** "SABREEND": the last eight bytes of every snapshot, so a truncated file is recognised as such. */
    public static final long END_MAGIC = 0x444E454552424153L;

    public static final int VERSION_START = 1;
    public static final int VERSION_CURRENT = VERSION_START;

    public static final int HEADER_SIZE = 64;
    public static final int FOOTER_SIZE = 64;
    public static final int FRAME_ENTRY_SIZE = 24;
    public static final int EXTENT_ENTRY_SIZE = 24;
    public static final int PREFETCH_ENTRY_SIZE = 12;

    public static final int MIN_PAGE_SIZE = 4096;
    public static final int MAX_PAGE_SIZE = 1 << 30;
    /** 256 TiB: the x86-64 4-level virtual address space; anything larger is a corrupt header. */
    public static final long MAX_MEMORY_SIZE = 1L << 48;
    /** Frames never exceed 256 MiB raw, which bounds every buffer a reader allocates. */
    public static final long MAX_FRAME_BYTES = 256L << 20;

    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    private SnapshotFormat() {
    }
}
